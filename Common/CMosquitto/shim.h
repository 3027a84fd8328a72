#ifndef OUTPOST_CMOSQUITTO_SHIM_H
#define OUTPOST_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <sys/socket.h>

/* MQTT_PROTOCOL_V5 and friends are plain integer macros and import fine; the
   shims below cover what Swift cannot express directly. */

/** Closes the client's socket without an MQTT DISCONNECT, as a crash or a cut
    cable would. Used to prove that the broker publishes the last will. */
static inline int outpost_mosquitto_abort_socket(struct mosquitto *mosq) {
    int fd = mosquitto_socket(mosq);
    if (fd < 0) return -1;
    return shutdown(fd, SHUT_RDWR);
}
#endif
