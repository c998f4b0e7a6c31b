namespace Airlock.Core.Configuration;

/// <summary>Kind of a SIEM sink.</summary>
public enum SiemSinkKind
{
    /// <summary>HTTP POST of JSON batches, HMAC-signed (<c>webhook</c>).</summary>
    Webhook,

    /// <summary>RFC 5424 syslog over UDP, TCP or TLS (<c>syslog</c>).</summary>
    Syslog,

    /// <summary>OpenTelemetry logs over OTLP/HTTP with the JSON encoding (<c>otlp</c>).</summary>
    Otlp,
}

/// <summary>How syslog messages travel.</summary>
public enum SyslogTransport
{
    /// <summary>One message per datagram (RFC 5426).</summary>
    Udp,

    /// <summary>TCP with octet-counting framing (RFC 6587 §3.4.1).</summary>
    Tcp,

    /// <summary>TLS with octet-counting framing (RFC 5425).</summary>
    Tls,
}

/// <summary>What a syslog message carries after its structured data.</summary>
public enum SyslogPayload
{
    /// <summary>The record as JSON (<c>json</c>, default).</summary>
    Json,

    /// <summary>An ArcSight Common Event Format line (<c>cef</c>).</summary>
    Cef,
}

/// <summary>One <c>siem.sinks[]</c> entry.</summary>
public sealed record SiemSinkConfig
{
    /// <summary>Unique name (logs, spill file, gap records).</summary>
    public required string Name { get; init; }

    /// <summary>Kind of sink.</summary>
    public required SiemSinkKind Kind { get; init; }

    /// <summary>Webhook URL, or the OTLP logs URL (e.g. <c>http://collector:4318/v1/logs</c>).</summary>
    public Uri? Url { get; init; }

    /// <summary>Webhook: environment variable holding the HMAC secret.</summary>
    public string? SecretEnv { get; init; }

    /// <summary>Webhook: file holding the HMAC secret (trailing whitespace ignored).</summary>
    public string? SecretFile { get; init; }

    /// <summary>Syslog: collector host.</summary>
    public string? Host { get; init; }

    /// <summary>Syslog: collector port (default 514, 6514 for TLS).</summary>
    public int Port { get; init; }

    /// <summary>Syslog: transport.</summary>
    public SyslogTransport Transport { get; init; } = SyslogTransport.Tcp;

    /// <summary>Syslog: payload after the structured data.</summary>
    public SyslogPayload Payload { get; init; } = SyslogPayload.Json;

    /// <summary>Syslog TLS: PEM file of the CA (or self-signed certificate) to trust instead of the system store.</summary>
    public string? CaFile { get; init; }

    /// <summary>Syslog: facility (default 13, log audit).</summary>
    public int Facility { get; init; } = 13;

    /// <summary>Longest a delivery attempt may take before it counts as failed (a hanging endpoint).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Most records per delivery.</summary>
    public int BatchSize { get; init; } = 200;
}

/// <summary>The <c>siem:</c> section: where committed audit records are shipped, off the request path.</summary>
public sealed record SiemConfig
{
    /// <summary>Sinks (none: nothing is shipped).</summary>
    public IReadOnlyList<SiemSinkConfig> Sinks { get; init; } = [];

    /// <summary><c>siem.queue_capacity</c>: records held in memory per sink before spilling to disk.</summary>
    public int QueueCapacity { get; init; } = 10_000;

    /// <summary><c>siem.spill_max_bytes</c>: size of each sink's spill file before records are counted as a gap.</summary>
    public long SpillMaxBytes { get; init; } = 256L * 1024 * 1024;

    /// <summary><c>siem.spill_dir</c>: where spill files live (default <c>&lt;data_dir&gt;/siem</c>).</summary>
    public string? SpillDir { get; init; }

    /// <summary><c>siem.retry_initial</c>: first backoff after a failed delivery.</summary>
    public TimeSpan RetryInitial { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary><c>siem.retry_max</c>: longest backoff.</summary>
    public TimeSpan RetryMax { get; init; } = TimeSpan.FromSeconds(60);
}
