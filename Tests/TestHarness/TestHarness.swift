/// What every test target shares. The local servers (mosquitto, PostgreSQL, Patroni, the
/// throwaway CA) live in `LocalServers`, which the fault campaign uses too; re-exported here
/// so that a test names one module.
@_exported import LocalServers
