using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Audit.Capture;
using Airlock.Core.Configuration;
using Microsoft.Extensions.Logging;

namespace Airlock.Gateway.Audit;

/// <summary>
/// What the pipeline keeps of one exchange for content capture: the request text and the answer's text, bounded.
/// Exists only when the exchange's team or key captures content (<c>redacted</c> or <c>full</c>).
/// </summary>
public sealed class ExchangeCapture(CaptureMode mode, int maxChars)
{
    private readonly StringBuilder _response = new();

    /// <summary>The mode this exchange is captured in.</summary>
    public CaptureMode Mode { get; } = mode;

    /// <summary>The request body bytes (as received in <c>full</c> mode, as forwarded in <c>redacted</c> mode); decoded off-path.</summary>
    public byte[]? Request { get; private set; }

    /// <summary>True when something was cut to the limit.</summary>
    public bool Truncated { get; private set; }

    /// <summary>The answer's text so far.</summary>
    public string? Response => _response.Length == 0 ? null : _response.ToString();

    /// <summary>Keeps the request: <paramref name="received"/> in full mode, <paramref name="forwarded"/> (after redaction) otherwise.</summary>
    public void OnRequest(ReadOnlySpan<byte> received, ReadOnlySpan<byte> forwarded)
    {
        var body = Mode == CaptureMode.Full ? received : forwarded;
        if (body.Length > maxChars)
        {
            // Cut on a UTF-8 character boundary, so the cut text still decodes.
            var cut = maxChars;
            while (cut > 0 && (body[cut] & 0xC0) == 0x80)
            {
                cut--;
            }
            body = body[..cut];
            Truncated = true;
        }
        // A copy only: the pooled body buffer is returned when the request ends; decoding happens off-path.
        Request = body.ToArray();
    }

    /// <summary>Adds the text of one Messages SSE event (text deltas only).</summary>
    public void OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
    {
        if (!eventType.SequenceEqual("content_block_delta"u8) || data.IndexOf("text_delta"u8) < 0)
        {
            return;
        }
        try
        {
            using var document = JsonDocument.Parse(data.ToArray());
            if (document.RootElement.TryGetProperty("delta", out var delta) && delta.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
            {
                Append(text.GetString());
            }
        }
        catch (JsonException)
        {
            // Not a well-formed event: nothing to capture from it (the relay reports broken streams itself).
        }
    }

    /// <summary>Adds the text blocks of a whole (non-streamed) Messages response.</summary>
    public void OnMessage(ReadOnlySpan<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            if (!document.RootElement.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
            {
                return;
            }
            foreach (var block in content.EnumerateArray())
            {
                if (block.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String)
                {
                    Append(text.GetString());
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: nothing to capture.
        }
    }

    private void Append(string? text)
    {
        if (string.IsNullOrEmpty(text) || Truncated && _response.Length >= maxChars)
        {
            return;
        }
        var room = maxChars - _response.Length;
        if (text.Length > room)
        {
            _response.Append(text.AsSpan(0, Math.Max(room, 0)));
            Truncated = true;
            return;
        }
        _response.Append(text);
    }

}

/// <summary>
/// Content capture for the gateway: decides each exchange's mode (key, then team, then default), and hands what was
/// kept to the off-path <see cref="ContentCaptureWriter"/> once the exchange's record exists. The request path only
/// copies text and enqueues; encryption and storage run on the writer's loop.
/// </summary>
public sealed partial class GatewayContentCapture : IAsyncDisposable
{
    private readonly CaptureConfig _config;
    private readonly ContentCaptureWriter? _writer;
    private readonly DataKeyRing? _ring;
    private readonly AesGcmKeyWrapper? _wrapper;

    private GatewayContentCapture(CaptureConfig config, ContentCaptureWriter? writer, DataKeyRing? ring, AesGcmKeyWrapper? wrapper)
    {
        _config = config;
        _writer = writer;
        _ring = ring;
        _wrapper = wrapper;
    }

    /// <summary>The writer (null when no team or key captures content).</summary>
    public ContentCaptureWriter? Writer => _writer;

    /// <summary>Builds capture from the configuration.</summary>
    /// <exception cref="ConfigurationException">Capture needs a master key that cannot be read, or the store cannot hold content.</exception>
    public static GatewayContentCapture Create(AirlockConfig config, IAuditStore store, Func<string, string?> getEnvironment, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(config);
        var capture = config.Audit.Capture;
        if (!capture.StoresContent)
        {
            return new GatewayContentCapture(capture, null, null, null);
        }
        if (store is not IAuditContentStore content)
        {
            throw new ConfigurationException(config.Source, ["audit.capture: this audit store cannot hold captured content"]);
        }
        AesGcmKeyWrapper wrapper;
        try
        {
            wrapper = CaptureKeys.FromConfig(capture, getEnvironment)
                ?? throw new InvalidOperationException("audit.capture: a master key is required (master_key_file or master_key_env)");
        }
        catch (InvalidOperationException ex)
        {
            throw new ConfigurationException(config.Source, [ex.Message]);
        }
        var ring = new DataKeyRing(content, wrapper, time);
        var writer = new ContentCaptureWriter(content, ring, problem => LogCaptureProblem(logger, problem));
        return new GatewayContentCapture(capture, writer, ring, wrapper);
    }

    /// <summary>A capture for an exchange by <paramref name="keyId"/> of <paramref name="team"/>, or null when it keeps no content.</summary>
    public ExchangeCapture? Begin(string? team, string? keyId)
    {
        if (_writer is null)
        {
            return null;
        }
        var mode = _config.ModeFor(team, keyId);
        return mode.StoresContent() ? new ExchangeCapture(mode, _config.MaxBytes) : null;
    }

    /// <summary>Hands the exchange's content to the writer (never waits).</summary>
    public void Submit(AuditRecord record, ExchangeCapture? capture)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (capture is null || _writer is null || (capture.Request is null && capture.Response is null))
        {
            return;
        }
        _writer.TryEnqueue(new ContentCaptureItem(record.RequestId, record.Time, record.User, record.Team, new CapturedContent
        {
            Mode = CaptureModes.ToText(capture.Mode),
            Response = capture.Response,
            Truncated = capture.Truncated,
        }, capture.Request));
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_writer is not null)
        {
            await _writer.DisposeAsync().ConfigureAwait(false);
        }
        _ring?.Dispose();
        _wrapper?.Dispose();
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "{Problem}")]
    private static partial void LogCaptureProblem(ILogger logger, string problem);
}
