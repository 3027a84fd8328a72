/*
 * outpost_subscribe_guard: a mosquitto 2.0 plugin (API version 5) that refuses every
 * SUBSCRIBE of a device that is not for its own downlink topics.
 *
 * Why a plugin: mosquitto 2.0.11's acl_file grants every SUBSCRIBE (its ACL callback returns
 * success for subscriptions before reading any rule) and checks only at delivery, so a device
 * could join the aggregators' shared subscription ($share/{group}/...) and swallow its share of
 * other devices' messages. Plugin ACL callbacks run before the acl_file's, so this one decides
 * subscriptions and leaves publish and delivery checks to the acl_file.
 *
 * Devices are the clients whose username (the certificate CN, use_identity_as_username) holds
 * no '.': device ids are [a-z0-9][a-z0-9-]{0,62}, service identities are svc.<name>. A device
 * may subscribe exactly outpost/v1/{its id}/ack and outpost/v1/{its id}/cmd; anything else
 * ($share/..., wildcards, other devices' topics) is refused (SUBACK reason 0x87, not
 * authorized) and logged. Service identities are left to the acl_file.
 */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

static mosquitto_plugin_id_t *plugin_id = NULL;

static const char topic_root[] = "outpost/v1/";

/* True when filter is exactly outpost/v1/{device}/ack or outpost/v1/{device}/cmd. */
static bool own_downlink(const char *filter, const char *device)
{
	size_t root = sizeof(topic_root) - 1;
	size_t length = strlen(device);
	if(strncmp(filter, topic_root, root) != 0) return false;
	if(strncmp(filter + root, device, length) != 0 || filter[root + length] != '/') return false;
	const char *kind = filter + root + length + 1;
	return strcmp(kind, "ack") == 0 || strcmp(kind, "cmd") == 0;
}

static int acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	(void)event;
	(void)userdata;

	if(ed->access != MOSQ_ACL_SUBSCRIBE) return MOSQ_ERR_PLUGIN_DEFER;
	const char *username = mosquitto_client_username(ed->client);
	if(username == NULL) return MOSQ_ERR_ACL_DENIED;
	if(strchr(username, '.') != NULL) return MOSQ_ERR_PLUGIN_DEFER;
	if(own_downlink(ed->topic, username)) return MOSQ_ERR_PLUGIN_DEFER;
	mosquitto_log_printf(MOSQ_LOG_NOTICE, "outpost: subscription to '%s' refused for device %s", ed->topic, username);
	return MOSQ_ERR_ACL_DENIED;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for(int i = 0; i < supported_version_count; i++){
		if(supported_versions[i] == 5) return 5;
	}
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	plugin_id = identifier;
	return mosquitto_callback_register(plugin_id, MOSQ_EVT_ACL_CHECK, acl_check, NULL, NULL);
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)userdata;
	(void)options;
	(void)option_count;
	return mosquitto_callback_unregister(plugin_id, MOSQ_EVT_ACL_CHECK, acl_check, NULL);
}
