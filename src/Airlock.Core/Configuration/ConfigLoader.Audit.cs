namespace Airlock.Core.Configuration;

public static partial class ConfigLoader
{
    private static AuditConfig ReadAudit(ConfigReader r)
    {
        const string S = "audit:";
        var defaults = new AuditConfig();
        var store = (r.OneOf(S + "store", ["sqlite", "postgres"]) ?? "sqlite") == "postgres" ? AuditStoreKind.Postgres : AuditStoreKind.Sqlite;
        var connectionStringEnv = r.String(S + "postgres:connection_string_env");
        if (store == AuditStoreKind.Postgres && connectionStringEnv is null)
        {
            r.Error(S + "postgres:connection_string_env", "required when audit.store is postgres (the name of the environment variable holding the connection string)");
        }
        var interval = r.Duration(S + "checkpoint_interval") ?? defaults.CheckpointInterval;
        if (interval < TimeSpan.FromSeconds(1) || interval > TimeSpan.FromHours(24))
        {
            r.Error(S + "checkpoint_interval", "must be between 1s and 24h");
        }
        return new AuditConfig
        {
            Store = store,
            PostgresConnectionStringEnv = connectionStringEnv,
            OnStoreFailure = (r.OneOf(S + "on_store_failure", ["refuse", "spool"]) ?? "refuse") == "spool" ? AuditFailureMode.Spool : AuditFailureMode.Refuse,
            CheckpointInterval = interval,
            Durable = r.Bool(S + "durable") ?? defaults.Durable,
            SpoolMaxBytes = r.Long(S + "spool:max_bytes", 4096, 1L << 40) ?? defaults.SpoolMaxBytes,
        };
    }
}
