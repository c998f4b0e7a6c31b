using System.Globalization;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;

namespace Airlock.Gateway.Siem;

/// <summary>
/// OpenTelemetry logs over OTLP/HTTP with the JSON encoding: <c>POST {url}</c> (normally <c>…:4318/v1/logs</c>) of an
/// <c>ExportLogsServiceRequest</c> (resourceLogs → scopeLogs → logRecords). Per the OTLP specification's JSON
/// encoding (opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) field names are lowerCamelCase, 64-bit
/// integers (times, intValue) are decimal strings, and enums are numbers (severityNumber: 9 INFO, 10 INFO2, 13 WARN,
/// 17 ERROR). One log record per audit record; its attributes are the record's fields under <c>airlock.</c>.
/// The OpenTelemetry .NET exporter is built for the process's own ILogger pipeline, not for shipping stored records
/// with our own batching and retries, so the encoding is written here.
/// </summary>
public sealed class OtlpLogsSink : ISiemSink
{
    private readonly SiemSinkConfig _config;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;

    /// <summary>Creates the sink; <paramref name="connect"/>, when given, opens each connection (the data-egress guard).</summary>
    public OtlpLogsSink(SiemSinkConfig config, TimeProvider time, Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? connect = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _time = time;
        _http = SiemHttp.CreateClient(config.Timeout, connect);
    }

    /// <inheritdoc/>
    public string Name => _config.Name;

    /// <inheritdoc/>
    public async Task SendAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        await SiemHttp.PostJsonAsync(_http, _config.Url!, Body(records, _time.GetUtcNow()), headers: null, _config.Timeout, "OTLP collector", cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>The ExportLogsServiceRequest JSON for <paramref name="records"/>.</summary>
    public static byte[] Body(IReadOnlyList<AuditRecord> records, DateTimeOffset observed)
    {
        ArgumentNullException.ThrowIfNull(records);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("resourceLogs");
            writer.WriteStartObject();
            writer.WriteStartObject("resource");
            writer.WriteStartArray("attributes");
            Attribute(writer, "service.name", "airlock", SiemFieldType.Text);
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteStartArray("scopeLogs");
            writer.WriteStartObject();
            writer.WriteStartObject("scope");
            writer.WriteString("name", "airlock.audit");
            writer.WriteEndObject();
            writer.WriteStartArray("logRecords");
            foreach (var record in records)
            {
                writer.WriteStartObject();
                writer.WriteString("timeUnixNano", Nanos(record.Time));
                writer.WriteString("observedTimeUnixNano", Nanos(observed));
                var severity = SiemFields.SyslogSeverity(record) switch
                {
                    3 => (17, "ERROR"),
                    4 => (13, "WARN"),
                    5 => (10, "INFO2"),
                    _ => (9, "INFO"),
                };
                writer.WriteNumber("severityNumber", severity.Item1);
                writer.WriteString("severityText", severity.Item2);
                writer.WriteStartObject("body");
                writer.WriteString("stringValue", $"{AuditKinds.ToText(record.Kind)} {record.Operation} {AuditOutcomes.ToText(record.Outcome)} {record.RequestId}");
                writer.WriteEndObject();
                writer.WriteStartArray("attributes");
                foreach (var field in SiemFields.Of(record))
                {
                    Attribute(writer, "airlock." + field.Name, field.Value, field.Type);
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static void Attribute(Utf8JsonWriter writer, string key, string value, SiemFieldType type)
    {
        writer.WriteStartObject();
        writer.WriteString("key", key);
        writer.WriteStartObject("value");
        switch (type)
        {
            case SiemFieldType.WholeNumber:
                writer.WriteString("intValue", value);
                break;
            case SiemFieldType.Fraction:
                writer.WriteNumber("doubleValue", double.Parse(value, CultureInfo.InvariantCulture));
                break;
            default:
                writer.WriteString("stringValue", value);
                break;
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static string Nanos(DateTimeOffset time) =>
        ((time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100).ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        return ValueTask.CompletedTask;
    }
}
