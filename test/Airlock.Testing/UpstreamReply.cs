using System.Text.Json;

namespace Airlock.Testing;

/// <summary>
/// What the <see cref="ScriptedUpstream"/> answers to one <c>POST /v1/messages</c>. Build one with the
/// static factories, then refine timing or headers with <c>with</c> or the <c>With*</c> helpers:
/// <code>UpstreamReply.Text("hi").WithFirstByteDelay(TimeSpan.FromSeconds(1))</code>
/// </summary>
public abstract record UpstreamReply
{
    /// <summary>Wait before the status line and headers are sent.</summary>
    public TimeSpan FirstByteDelay { get; init; }

    /// <summary>Wait between two SSE events (streaming replies only).</summary>
    public TimeSpan EventDelay { get; init; }

    /// <summary>Extra response headers (added after the provider-like defaults, replacing same names).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ExtraHeaders { get; init; } = [];

    /// <summary>A text answer: SSE when the request asked for <c>stream:true</c>, a JSON message otherwise.</summary>
    public static TextReply Text(string text, int inputTokens = 25, int outputTokens = 10)
        => new(text, inputTokens, outputTokens);

    /// <summary>A tool call; <paramref name="input"/> is serialized with System.Text.Json (anonymous objects work).</summary>
    public static ToolUseReply ToolUse(string toolName, object input, int inputTokens = 25, int outputTokens = 10)
        => new(toolName, JsonSerializer.Serialize(input), inputTokens, outputTokens);

    /// <summary>An Anthropic-shaped error: <c>{"type":"error","error":{"type":…,"message":…}}</c> with the given status.</summary>
    public static ErrorReply Error(int status, string type, string message, params KeyValuePair<string, string>[] headers)
        => new(status, type, message) { ExtraHeaders = headers };

    /// <summary>
    /// Streams the events of a text answer, stops after <paramref name="afterEvents"/> of them and aborts the
    /// connection (no <c>message_stop</c>, no chunked terminator): the client sees a broken stream.
    /// </summary>
    public static DieMidStreamReply DieMidStream(int afterEvents, string text = "This answer is cut off before it ends.")
        => new(afterEvents, text);

    /// <summary>
    /// Streams the events of a text answer, then, after <paramref name="afterEvents"/> of them, an SSE
    /// <c>error</c> event (as the API does on overload mid-stream) and ends the response normally.
    /// </summary>
    public static StreamErrorReply ErrorEventMidStream(int afterEvents, string type = "overloaded_error", string message = "Overloaded")
        => new(afterEvents, type, message);

    /// <summary>Never answers: holds the request until the client gives up or the upstream is disposed.</summary>
    public static HangReply Hang() => new();

    /// <summary><paramref name="then"/>, sent only after <paramref name="delay"/> (nothing, not even headers, before).</summary>
    public static UpstreamReply Delay(TimeSpan delay, UpstreamReply then)
    {
        ArgumentNullException.ThrowIfNull(then);
        return then.WithFirstByteDelay(delay);
    }

    public UpstreamReply WithFirstByteDelay(TimeSpan delay) => this with { FirstByteDelay = delay };

    public UpstreamReply WithEventDelay(TimeSpan delay) => this with { EventDelay = delay };

    public UpstreamReply WithHeader(string name, string value)
        => this with { ExtraHeaders = [.. ExtraHeaders, new KeyValuePair<string, string>(name, value)] };
}

public sealed record TextReply(string Content, int InputTokens, int OutputTokens) : UpstreamReply;

public sealed record ToolUseReply(string ToolName, string InputJson, int InputTokens, int OutputTokens) : UpstreamReply
{
    /// <summary>The <c>toolu_…</c> id; a fresh one per reply unless set.</summary>
    public string? ToolUseId { get; init; }
}

public sealed record ErrorReply(int Status, string Type, string Message) : UpstreamReply;

public sealed record DieMidStreamReply(int AfterEvents, string Content) : UpstreamReply
{
    /// <summary>
    /// Pause between the last event and the abort. An abort resets the TCP connection, and a reset makes the
    /// client's kernel drop bytes it has not read yet; the pause lets a reading client get the events first.
    /// </summary>
    public TimeSpan PauseBeforeAbort { get; init; } = TimeSpan.FromMilliseconds(150);
}

public sealed record StreamErrorReply(int AfterEvents, string Type, string Message) : UpstreamReply;

public sealed record HangReply : UpstreamReply;
