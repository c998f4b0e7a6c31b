using System.Buffers.Binary;
using System.Net;
using Airlock.Core.Audit;
using Airlock.Gateway.Pipeline;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Protocols.Aws.EventStream;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// Reads the first frame of an event-stream answer (Bedrock InvokeModelWithResponseStream) before anything reaches the
/// client. Bedrock can accept a stream with 200 and then send a <c>throttlingException</c> (or <c>serviceUnavailable</c>,
/// <c>internalServer</c>, <c>modelNotReady</c>, <c>modelTimeout</c>) exception frame as its very first frame: no byte of an
/// answer exists yet, so that is the same situation as an HTTP 429/5xx and is retried and failed over like one. Any other
/// first frame is left alone: the response's content is replaced by one that replays the bytes read, then the rest.
/// </summary>
internal static class EventStreamStartProbe
{
    /// <summary>A first frame larger than this is not waited for (an answer chunk, never an exception): relayed as it comes.</summary>
    private const int MaxProbeBytes = 64 * 1024;

    /// <summary>
    /// Null when the answer may be relayed (its content then replays the probed bytes); a retryable refusal (the response
    /// disposed) when the stream opened with a retryable exception frame or broke before its first frame.
    /// </summary>
    public static async ValueTask<Refusal?> ProbeAsync(HttpResponseMessage response, string upstream, CancellationToken cancellationToken)
    {
        if (response.StatusCode != HttpStatusCode.OK || response.Content.Headers.ContentType?.MediaType != BedrockFrames.ContentType)
        {
            return null;
        }
        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        var buffer = new byte[1024];
        var length = 0;
        var total = -1;
        try
        {
            while (total < 0 || length < total)
            {
                if (total < 0 && length >= 4)
                {
                    total = BinaryPrimitives.ReadInt32BigEndian(buffer);
                    if (total is < EventStreamDecoder.MinimumMessageLength or > MaxProbeBytes)
                    {
                        // Not an exception frame worth waiting for (or corrupt: the relay's decoder reports that precisely).
                        break;
                    }
                    if (total > buffer.Length)
                    {
                        Array.Resize(ref buffer, total);
                    }
                    continue;
                }
                var read = await stream.ReadAsync(buffer.AsMemory(length, (total < 0 ? 4 : total) - length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }
                length += read;
            }
        }
        catch (IOException)
        {
            // Lost before the first frame: nothing reached the client, so this is an attempt failure like a refused connection.
            response.Dispose();
            return Broken(upstream);
        }
        catch (OperationCanceledException)
        {
            // The attempt's first-byte timeout (or the client going away): the caller decides; this answer is abandoned.
            response.Dispose();
            throw;
        }
        if (total > 0 && length >= total && RetryableException(buffer.AsSpan(0, total)) is { } exception)
        {
            response.Dispose();
            return new Refusal(new GatewayError(exception.Status, BedrockErrors.AnthropicTypeForException(exception.Type), exception.Message),
                "upstream_stream_error:" + BedrockErrors.AnthropicTypeForException(exception.Type), AuditOutcome.UpstreamError);
        }
        response.Content = new ReplayContent(response.Content, stream, buffer.AsMemory(0, length));
        return null;
    }

    private static Refusal Broken(string upstream) => new(new GatewayError(502, Protocols.Messages.AnthropicErrors.Api,
        $"upstream '{upstream}' connection was lost before the first event"), "upstream_stream_broken", AuditOutcome.UpstreamError);

    /// <summary>The exception frame's type, the status it stands for and its message, when it is one another attempt may cure.</summary>
    private static (string Type, int Status, string Message)? RetryableException(ReadOnlySpan<byte> frame)
    {
        EventStreamMessage message;
        try
        {
            message = EventStreamDecoder.DecodeAll(frame)[0];
        }
        catch (EventStreamFormatException)
        {
            return null;
        }
        if (message.GetString(":message-type") != "exception" || message.GetString(":exception-type") is not { } type)
        {
            return null;
        }
        // Statuses of the same errors as HTTP errors (Bedrock Runtime API reference, InvokeModelWithResponseStream "Errors").
        int? status = type switch
        {
            "throttlingException" or "modelNotReadyException" => 429,
            "serviceUnavailableException" => 503,
            "internalServerException" => 500,
            "modelTimeoutException" => 408,
            _ => null,
        };
        return status is { } retryable
            ? (type, retryable, BedrockErrors.ReadMessage(message.Payload.Span) ?? $"Bedrock stream exception {type}")
            : null;
    }

    /// <summary>The probed bytes, then the rest of the upstream body; the original content's headers are kept.</summary>
    private sealed class ReplayContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly Stream _stream;

        public ReplayContent(HttpContent inner, Stream stream, ReadOnlyMemory<byte> prefix)
        {
            _inner = inner;
            _stream = new ReplayStream(prefix, stream);
            foreach (var header in inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override Task<Stream> CreateContentReadStreamAsync() => Task.FromResult(_stream);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => _stream.CopyToAsync(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _stream.Dispose();
                _inner.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    private sealed class ReplayStream(ReadOnlyMemory<byte> prefix, Stream rest) : Stream
    {
        private ReadOnlyMemory<byte> _prefix = prefix;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!_prefix.IsEmpty)
            {
                var count = Math.Min(buffer.Length, _prefix.Length);
                _prefix[..count].CopyTo(buffer);
                _prefix = _prefix[count..];
                return count;
            }
            return await rest.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_prefix.IsEmpty)
            {
                return rest.Read(buffer, offset, count);
            }
            var taken = Math.Min(count, _prefix.Length);
            _prefix.Span[..taken].CopyTo(buffer.AsSpan(offset, taken));
            _prefix = _prefix[taken..];
            return taken;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                rest.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}
