using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Gateway.Admin;

namespace Airlock.Gateway.Siem;

/// <summary>
/// POSTs batches as JSON: <c>{"source":"airlock","sink":…,"sent_at":unix-seconds,"records":[…]}</c> with
/// <c>X-Airlock-Timestamp: unix-seconds</c> and <c>X-Airlock-Signature: sha256=&lt;hex HMAC-SHA256(secret, body)&gt;</c>.
/// The timestamp is inside the signed body as well, so a receiver that checks the signature, that the header equals
/// <c>sent_at</c> and that it is recent (e.g. within 5 minutes) refuses a replayed batch. Any non-2xx answer, a
/// connection failure or no answer within the sink's timeout fails the delivery (retried by the queue).
/// </summary>
public sealed class WebhookSink : ISiemSink
{
    /// <summary>Signature header.</summary>
    public const string SignatureHeader = "X-Airlock-Signature";

    /// <summary>Timestamp header.</summary>
    public const string TimestampHeader = "X-Airlock-Timestamp";

    private readonly SiemSinkConfig _config;
    private readonly byte[] _secret;
    private readonly TimeProvider _time;
    private readonly HttpClient _http;

    /// <summary>
    /// Creates the sink; <paramref name="secret"/> is the HMAC key (never logged); <paramref name="connect"/>, when given,
    /// opens each connection (the data-egress guard).
    /// </summary>
    public WebhookSink(SiemSinkConfig config, byte[] secret, TimeProvider time, Func<SocketsHttpConnectionContext, CancellationToken, ValueTask<Stream>>? connect = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        _config = config;
        _secret = secret;
        _time = time;
        _http = SiemHttp.CreateClient(config.Timeout, connect);
    }

    /// <inheritdoc/>
    public string Name => _config.Name;

    /// <inheritdoc/>
    public async Task SendAsync(IReadOnlyList<AuditRecord> records, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(records);
        var sentAt = _time.GetUtcNow().ToUnixTimeSeconds();
        var body = Body(records, sentAt);
        await SiemHttp.PostJsonAsync(_http, _config.Url!, body, headers =>
        {
            headers.Add(TimestampHeader, sentAt.ToString(CultureInfo.InvariantCulture));
            headers.Add(SignatureHeader, "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(_secret, body)));
        }, _config.Timeout, "webhook", cancellationToken).ConfigureAwait(false);
    }

    private byte[] Body(IReadOnlyList<AuditRecord> records, long sentAt)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("source", "airlock");
            writer.WriteString("sink", _config.Name);
            writer.WriteNumber("sent_at", sentAt);
            writer.WriteStartArray("records");
            foreach (var record in records)
            {
                JsonSerializer.Serialize(writer, record, AdminJsonContext.Default.AuditRecord);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _http.Dispose();
        CryptographicOperations.ZeroMemory(_secret);
        return ValueTask.CompletedTask;
    }
}
