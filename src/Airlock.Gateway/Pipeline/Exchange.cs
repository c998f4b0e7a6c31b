using System.Buffers;
using System.Diagnostics;
using Airlock.Core.Audit;
using Airlock.Core.Identity;
using Airlock.Protocols.Messages;
using Microsoft.AspNetCore.Http;

namespace Airlock.Gateway.Pipeline;

/// <summary>
/// Everything the gateway learns about one request while handling it; becomes exactly one
/// <see cref="AuditRecord"/> when the request ends, whatever way it ends.
/// </summary>
internal sealed class Exchange(HttpContext context, string door, string operation, DateTimeOffset time)
{
    private readonly long _started = Stopwatch.GetTimestamp();

    public string RequestId { get; } = Guid.CreateVersion7(time).ToString("N");

    /// <summary>The operation the door named (<c>invoke</c>, <c>count_tokens</c>, …), as recorded.</summary>
    public string Operation => operation;

    public KeyRecord? Key { get; set; }

    public string? Model { get; set; }

    public string? Upstream { get; set; }

    public int Status { get; set; }

    public AuditOutcome Outcome { get; set; } = AuditOutcome.Ok;

    public string? ErrorType { get; set; }

    public double? TimeToFirstByteMs { get; private set; }

    public long RequestBytes { get; set; }

    public long ResponseBytes { get; set; }

    public string? BodySha256 { get; private set; }

    private ReadOnlyMemory<byte> _unhashedBody;

    /// <summary>
    /// The request body whose SHA-256 is still to be computed. The hash is taken off the critical path: once the upstream
    /// request is on its way (<see cref="HashBody"/> from the forwarding code), or when handling ends without forwarding.
    /// The memory must stay valid until <see cref="HashBody"/> ran.
    /// </summary>
    public void DeferBodyHash(ReadOnlyMemory<byte> body)
    {
        _unhashedBody = body;
        _hashPending = true;
    }

    private bool _hashPending;

    /// <summary>Computes <see cref="BodySha256"/> from the deferred body, once (before any record of this exchange is built).</summary>
    public void HashBody()
    {
        if (_hashPending)
        {
            // An empty body has a hash too (e3b0c442…).
            BodySha256 = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(_unhashedBody.Span));
            _hashPending = false;
            _unhashedBody = default;
        }
    }

    /// <summary>This request's entries in the audit journal (set when it was forwarded upstream with the journal on).</summary>
    public Audit.JournalTicket? Journal { get; set; }

    public string? UpstreamRequestId { get; set; }

    public MessagesUsageTracker? Usage { get; set; }

    /// <summary>Content kept for capture (null unless the key's team or the key captures content).</summary>
    public Audit.ExchangeCapture? Capture { get; set; }

    /// <summary>Inspection findings of the request and of the answer (rule, location, keyed hash; never values).</summary>
    public List<AuditFinding> Findings { get; } = [];

    private ArrayBufferWriter<byte>? _held;

    /// <summary>
    /// The bytes that complete the response (an SSE stream's <c>message_stop</c> and what follows it, a JSON body's last
    /// segment, a gateway error body), held back until the exchange's audit record is durable.
    /// </summary>
    public ReadOnlyMemory<byte> Held => _held is null ? default : _held.WrittenMemory;

    /// <summary>Appends to <see cref="Held"/> (copied: relay buffers are reused).</summary>
    public void Hold(ReadOnlySpan<byte> bytes) => (_held ??= new ArrayBufferWriter<byte>(Math.Max(bytes.Length, 256))).Write(bytes);

    /// <summary>Forgets <see cref="Held"/> (written, or never to be written because the connection is reset).</summary>
    public void ClearHeld() => _held?.ResetWrittenCount();

    public void MarkFirstByte() => TimeToFirstByteMs = Stopwatch.GetElapsedTime(_started).TotalMilliseconds;

    /// <summary>Records a failure; the first failure recorded is the one that explains the outcome.</summary>
    public void Fail(AuditOutcome outcome, string errorType)
    {
        if (Outcome == AuditOutcome.Ok)
        {
            Outcome = outcome;
            ErrorType = errorType;
        }
    }

    public AuditRecord ToRecord()
    {
        var headers = context.Request.Headers;
        return new AuditRecord
        {
            RequestId = RequestId,
            Time = time,
            Door = door,
            Operation = operation,
            KeyId = Key?.Id,
            User = Key?.User,
            Team = Key?.Team,
            SessionId = Clip(headers["x-claude-code-session-id"].ToString()),
            Model = Clip(Model),
            Upstream = Upstream,
            Status = Status,
            Outcome = Outcome,
            ErrorType = ErrorType,
            LatencyMs = Stopwatch.GetElapsedTime(_started).TotalMilliseconds,
            TimeToFirstByteMs = TimeToFirstByteMs,
            InputTokens = Usage?.InputTokens,
            OutputTokens = Usage?.OutputTokens,
            CacheReadTokens = Usage?.CacheReadTokens,
            CacheCreationTokens = Usage?.CacheCreationTokens,
            RequestBytes = RequestBytes,
            ResponseBytes = ResponseBytes,
            BodySha256 = BodySha256,
            UpstreamRequestId = Clip(UpstreamRequestId),
            UserAgent = Clip(headers.UserAgent.ToString()),
            ClientAddress = context.Connection.RemoteIpAddress?.ToString(),
            Findings = Findings.Count == 0 ? [] : Findings.ToArray(),
        };
    }

    /// <summary>Client-supplied strings are stored bounded, so a hostile header cannot bloat the trail.</summary>
    private static string? Clip(string? value) =>
        string.IsNullOrEmpty(value) ? null : value.Length <= 256 ? value : value[..256];
}
