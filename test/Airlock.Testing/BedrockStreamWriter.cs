using System.Buffers;
using Airlock.Protocols.Aws.Bedrock;
using Microsoft.AspNetCore.Http;

namespace Airlock.Testing;

/// <summary>
/// Writes a Bedrock <c>InvokeModelWithResponseStream</c> response on an ASP.NET Core response, as Bedrock does:
/// <c>Content-Type: application/vnd.amazon.eventstream</c>, <c>X-Amzn-Bedrock-Content-Type: application/json</c>, then one
/// <c>chunk</c> frame per Anthropic event (flushed one by one) and exception frames for errors.
/// </summary>
public sealed class BedrockStreamWriter
{
    private readonly HttpResponse _response;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);

    public BedrockStreamWriter(HttpResponse response)
    {
        _response = response ?? throw new ArgumentNullException(nameof(response));
    }

    /// <summary>Sends status 200 and the stream headers.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _response.StatusCode = StatusCodes.Status200OK;
        _response.ContentType = BedrockFrames.ContentType;
        _response.Headers[BedrockFrames.PayloadContentTypeHeader] = "application/json";
        _response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        await _response.StartAsync(cancellationToken);
    }

    /// <summary>One <c>chunk</c> frame carrying <paramref name="eventJson"/>.</summary>
    public Task WriteEventAsync(string eventJson, CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        BedrockFrames.WriteChunk(_buffer, System.Text.Encoding.UTF8.GetBytes(eventJson));
        return FlushAsync(cancellationToken);
    }

    /// <summary>An exception frame (e.g. <see cref="BedrockErrors.Throttling"/> → <c>throttlingException</c>).</summary>
    public Task WriteExceptionAsync(BedrockErrorShape error, string message, CancellationToken cancellationToken)
    {
        _buffer.ResetWrittenCount();
        BedrockFrames.WriteException(_buffer, error, message);
        return FlushAsync(cancellationToken);
    }

    /// <summary>Raw bytes (a corrupt frame, half a frame) for bad-input tests.</summary>
    public async Task WriteRawAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await _response.Body.WriteAsync(bytes, cancellationToken);
        await _response.Body.FlushAsync(cancellationToken);
    }

    /// <summary>A Bedrock JSON error response (before any frame): status, <c>x-amzn-ErrorType</c>, <c>{"message":…}</c>.</summary>
    public static async Task WriteHttpErrorAsync(HttpResponse response, BedrockErrorShape error, string message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        response.StatusCode = error.Status;
        response.ContentType = "application/json";
        response.Headers[BedrockErrors.ErrorTypeHeader] = error.ErrorType;
        response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
        await response.Body.WriteAsync(BedrockErrors.Body(message), cancellationToken);
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        await _response.Body.WriteAsync(_buffer.WrittenMemory, cancellationToken);
        await _response.Body.FlushAsync(cancellationToken);
    }
}
