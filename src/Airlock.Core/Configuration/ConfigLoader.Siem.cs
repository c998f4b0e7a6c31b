namespace Airlock.Core.Configuration;

public static partial class ConfigLoader
{
    private static SiemConfig ReadSiem(ConfigReader r, string baseDirectory)
    {
        const string S = "siem:";
        var defaults = new SiemConfig();
        var sinks = new List<SiemSinkConfig>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var section in r.Children(S + "sinks"))
        {
            var name = r.String(section + ":name", required: true) ?? "";
            if (name.Length > 0 && (!names.Add(name) || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')))
            {
                r.Error(section + ":name", "must be unique and use only letters, digits, '-' and '_' (it names the spill file)");
            }
            var kind = r.Enum(section + ":kind", required: true, SiemSinkKind.Webhook,
                ("webhook", SiemSinkKind.Webhook), ("syslog", SiemSinkKind.Syslog), ("otlp", SiemSinkKind.Otlp));
            var url = kind == SiemSinkKind.Syslog ? null : r.Url(section + ":url", required: true);
            var secretEnv = r.String(section + ":secret_env");
            var secretFile = r.String(section + ":secret_file");
            if (kind == SiemSinkKind.Webhook && secretEnv is null && secretFile is null)
            {
                r.Error(section, "a webhook needs secret_env or secret_file (the HMAC key its receiver verifies)");
            }
            if (secretEnv is not null && !IsEnvironmentVariableName(secretEnv))
            {
                r.Error(section + ":secret_env", "must be the NAME of an environment variable (letters, digits, _), not a secret value");
            }
            if (secretFile is not null)
            {
                secretFile = Path.GetFullPath(Path.Combine(baseDirectory, secretFile));
            }
            var transport = r.Enum(section + ":transport", required: false, SyslogTransport.Tcp,
                ("udp", SyslogTransport.Udp), ("tcp", SyslogTransport.Tcp), ("tls", SyslogTransport.Tls));
            var caFile = r.String(section + ":ca_file");
            if (caFile is not null)
            {
                caFile = Path.GetFullPath(Path.Combine(baseDirectory, caFile));
                if (!File.Exists(caFile))
                {
                    r.Error(section + ":ca_file", $"file not found: {caFile}");
                }
            }
            var timeout = r.Duration(section + ":timeout") ?? TimeSpan.FromSeconds(10);
            if (timeout < TimeSpan.FromMilliseconds(100) || timeout > TimeSpan.FromMinutes(5))
            {
                r.Error(section + ":timeout", "must be between 100ms and 5m");
            }
            sinks.Add(new SiemSinkConfig
            {
                Name = name,
                Kind = kind,
                Url = url,
                SecretEnv = secretEnv,
                SecretFile = secretFile,
                Host = r.String(section + ":host", required: kind == SiemSinkKind.Syslog),
                Port = r.Int(section + ":port", min: 1, max: 65535) ?? (transport == SyslogTransport.Tls ? 6514 : 514),
                Transport = transport,
                Payload = r.Enum(section + ":payload", required: false, SyslogPayload.Json, ("json", SyslogPayload.Json), ("cef", SyslogPayload.Cef)),
                CaFile = caFile,
                Facility = r.Int(section + ":facility", min: 0, max: 23) ?? 13,
                Timeout = timeout,
                BatchSize = r.Int(section + ":batch_size", min: 1, max: 10_000) ?? 200,
            });
        }
        var retryInitial = r.Duration(S + "retry_initial") ?? defaults.RetryInitial;
        var retryMax = r.Duration(S + "retry_max") ?? defaults.RetryMax;
        if (retryInitial < TimeSpan.FromMilliseconds(10) || retryMax < retryInitial)
        {
            r.Error(S + "retry_initial", "must be at least 10ms and no more than retry_max");
        }
        return new SiemConfig
        {
            Sinks = sinks,
            QueueCapacity = r.Int(S + "queue_capacity", min: 1, max: 10_000_000) ?? defaults.QueueCapacity,
            SpillMaxBytes = r.Long(S + "spill_max_bytes", min: 0, max: 1L << 40) ?? defaults.SpillMaxBytes,
            SpillDir = r.String(S + "spill_dir") is { } dir ? Path.GetFullPath(Path.Combine(baseDirectory, dir)) : null,
            RetryInitial = retryInitial,
            RetryMax = retryMax,
        };
    }
}
