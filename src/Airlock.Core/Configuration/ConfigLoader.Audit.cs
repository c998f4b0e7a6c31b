using Airlock.Core.Audit.Capture;

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
        var shutdownTimeout = r.Duration(S + "shutdown_timeout") ?? defaults.ShutdownTimeout;
        if (shutdownTimeout < TimeSpan.FromSeconds(1) || shutdownTimeout > TimeSpan.FromHours(1))
        {
            r.Error(S + "shutdown_timeout", "must be between 1s and 1h");
        }
        var capture = ReadCapture(r);
        var retention = ReadRetention(r);
        AuditDurability? durability = r.OneOf(S + "durable", ["true", "journal", "commit", "false"]) switch
        {
            "journal" => AuditDurability.Journal,
            "commit" => AuditDurability.Commit,
            "false" => AuditDurability.Off,
            _ => null, // true or unset: follows the store (AuditConfig.Durability)
        };
        var journalFsync = r.Bool(S + "journal:fsync") ?? false;
        var effective = durability ?? (store == AuditStoreKind.Postgres ? AuditDurability.Commit : AuditDurability.Journal);
        if (journalFsync && effective != AuditDurability.Journal)
        {
            r.Error(S + "journal:fsync", effective == AuditDurability.Off
                ? "applies only to the audit journal, and audit.durable is false (use audit.durable: journal)"
                : durability is null
                    ? "applies only to the audit journal, and audit.durable: true means commit with audit.store postgres (set audit.durable: journal to use the journal)"
                    : "applies only to the audit journal, and audit.durable is commit (use audit.durable: journal)");
        }
        var config = new AuditConfig
        {
            Capture = capture,
            Retention = retention,
            Store = store,
            PostgresConnectionStringEnv = connectionStringEnv,
            OnStoreFailure = (r.OneOf(S + "on_store_failure", ["refuse", "spool"]) ?? "refuse") == "spool" ? AuditFailureMode.Spool : AuditFailureMode.Refuse,
            CheckpointInterval = interval,
            ShutdownTimeout = shutdownTimeout,
            JournalFsync = journalFsync,
            SpoolMaxBytes = r.Long(S + "spool:max_bytes", 4096, 1L << 40) ?? defaults.SpoolMaxBytes,
        };
        return durability is { } explicitly ? config with { Durability = explicitly } : config;
    }

    private static CaptureConfig ReadCapture(ConfigReader r)
    {
        const string S = "audit:capture:";
        var defaults = new CaptureConfig();
        CaptureMode? Mode(string key) => r.OneOf(key, CaptureModes.Names) is { } text ? CaptureModes.Parse(text) : null;
        Dictionary<string, CaptureMode> Map(string section)
        {
            var map = new Dictionary<string, CaptureMode>(StringComparer.Ordinal);
            foreach (var child in r.Children(S + section))
            {
                if (Mode(child) is { } mode)
                {
                    map[child[(child.LastIndexOf(':') + 1)..]] = mode;
                }
            }
            return map;
        }
        var config = new CaptureConfig
        {
            Default = Mode(S + "default") ?? CaptureMode.None,
            Teams = Map("teams"),
            Keys = Map("keys"),
            MasterKeyFile = r.String(S + "master_key_file"),
            MasterKeyEnv = r.String(S + "master_key_env"),
            MaxBytes = r.Int(S + "max_bytes", 1024, 64 * 1024 * 1024) ?? defaults.MaxBytes,
        };
        if (config.StoresContent && config.MasterKeyFile is null && config.MasterKeyEnv is null)
        {
            r.Error(S + "master_key_file", "a master key is required when a capture mode is redacted or full (set master_key_file or master_key_env)");
        }
        if (config.MasterKeyFile is not null && config.MasterKeyEnv is not null)
        {
            r.Error(S + "master_key_env", "set master_key_file or master_key_env, not both");
        }
        return config;
    }

    private static RetentionConfig ReadRetention(ConfigReader r)
    {
        const string S = "audit:retention:";
        var defaults = new RetentionConfig();
        RetentionPeriods Periods(string prefix, RetentionPeriods fallback) => new(
            Retention(r, prefix + "content", TimeSpan.Zero, TimeSpan.FromDays(90), "0d and 90d") ?? fallback.Content,
            Retention(r, prefix + "metadata", TimeSpan.FromDays(365), TimeSpan.FromDays(7 * 365), "1y and 7y") ?? fallback.Metadata,
            Retention(r, prefix + "full_content", TimeSpan.Zero, TimeSpan.FromDays(90), "0d and 90d") ?? fallback.FullContent);
        var periods = Periods(S, defaults.Default);
        var teams = new Dictionary<string, RetentionPeriods>(StringComparer.Ordinal);
        foreach (var child in r.Children(S + "teams"))
        {
            teams[child[(child.LastIndexOf(':') + 1)..]] = Periods(child + ":", periods);
        }
        var interval = r.Duration(S + "purge_interval") ?? defaults.PurgeInterval;
        if (interval < TimeSpan.FromMinutes(1) || interval > TimeSpan.FromDays(1))
        {
            r.Error(S + "purge_interval", "must be between 1m and 24h");
        }
        return new RetentionConfig { Default = periods, Teams = teams, PurgeInterval = interval, Enabled = r.Bool(S + "enabled") ?? true };
    }

    /// <summary>A retention period: a duration with d, w or y units (<c>30d</c>, <c>2y</c>; 0 allowed), within bounds.</summary>
    private static TimeSpan? Retention(ConfigReader r, string key, TimeSpan min, TimeSpan max, string bounds)
    {
        var text = r.String(key);
        if (text is null)
        {
            return null;
        }
        TimeSpan? value = text switch
        {
            "0" or "0d" => TimeSpan.Zero,
            _ when text.Length > 1 && long.TryParse(text[..^1], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n <= 100_000
                => text[^1] switch
                {
                    'd' => TimeSpan.FromDays(n),
                    'w' => TimeSpan.FromDays(7 * n),
                    'y' => TimeSpan.FromDays(365 * n),
                    _ => null,
                },
            _ => null,
        };
        if (value is null)
        {
            r.Error(key, $"must be a whole number of days, weeks or years such as 30d, 12w, 2y (got '{text}')");
            return null;
        }
        if (value < min || value > max)
        {
            r.Error(key, $"must be between {bounds} (got '{text}')");
            return null;
        }
        return value;
    }
}
