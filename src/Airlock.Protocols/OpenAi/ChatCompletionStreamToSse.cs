using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Airlock.Protocols.Messages;
using Airlock.Protocols.Sse;

namespace Airlock.Protocols.OpenAi;

/// <summary>Why a chat-completions stream could not be translated to the end.</summary>
/// <param name="ErrorType">The audit error type (<c>upstream_stream_incomplete</c>, <c>upstream_stream_corrupt</c>, …).</param>
/// <param name="Message">What the client is told; never quotes content.</param>
public sealed record OpenAiStreamFailure(string ErrorType, string Message);

/// <summary>
/// Translates a streamed chat completion (<c>data: {chunk}</c> lines, a final usage chunk when
/// <c>stream_options.include_usage</c> was asked, then <c>data: [DONE]</c>) into the Messages SSE sequence
/// (https://docs.anthropic.com/en/docs/build-with-claude/streaming): <c>message_start</c>, per block
/// <c>content_block_start</c> / <c>content_block_delta</c> / <c>content_block_stop</c>, then <c>message_delta</c>
/// (stop reason and usage) and <c>message_stop</c>. It is an incremental state machine: feed upstream bytes as they
/// arrive (split anywhere, even inside a UTF-8 sequence) and write what comes out at once; nothing is held back but
/// an incomplete line.
/// <list type="bullet">
/// <item><c>delta.reasoning_content</c> / <c>delta.reasoning</c> → a <c>thinking</c> block (<c>thinking_delta</c>;
/// the signature is empty: the upstream does not sign).</item>
/// <item><c>delta.content</c> → a <c>text</c> block (<c>text_delta</c>).</item>
/// <item><c>delta.tool_calls[i]</c> → one <c>tool_use</c> block per index, its argument fragments as
/// <c>input_json_delta</c>. Blocks are sequential, as in the Messages API: a new index closes the previous block.
/// An upstream that goes back to an index it already left cannot be expressed and fails the stream.</item>
/// <item>A block's kind changing (reasoning → text → tool) closes the open block and starts the next.</item>
/// <item><c>finish_reason</c> → <c>stop_reason</c>; <c>usage</c> (any chunk) → <c>message_delta.usage</c>.</item>
/// <item>An in-stream <c>{"error":…}</c> chunk → an SSE <c>error</c> event; the rest is ignored.</item>
/// <item>A tool's arguments that do not form one JSON object, an unparseable chunk, or a stream that ends before
/// <c>[DONE]</c> → <see cref="Failure"/> (the caller ends the client stream with its own <c>error</c> event).</item>
/// </list>
/// </summary>
public sealed class ChatCompletionStreamToSse : ISseEventSink, IDisposable
{
    /// <summary>Tool arguments above this size are not kept for the end-of-block JSON check (they still stream).</summary>
    private const int MaxCheckedArgumentBytes = 4 * 1024 * 1024;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    private readonly SseEventParser _parser = new();
    private readonly string _model;
    private readonly Dictionary<int, ToolCall> _tools = [];
    private readonly ArrayBufferWriter<byte> _json = new(1024);
    private readonly Utf8JsonWriter _writer;
    private IBufferWriter<byte>? _output;
    private BlockKind _open = BlockKind.None;
    private int _blockIndex = -1;
    private ToolCall? _openTool;
    private string? _finishReason;
    private OpenAiUsage _usage;
    private bool _ended;

    /// <summary>Creates a translator; <paramref name="model"/> names the model when the upstream's chunks do not.</summary>
    public ChatCompletionStreamToSse(string model)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _writer = new Utf8JsonWriter(_json, WriterOptions);
    }

    /// <summary>Set when the stream cannot be translated further.</summary>
    public OpenAiStreamFailure? Failure { get; private set; }

    /// <summary>True once <c>message_start</c> was written.</summary>
    public bool Started { get; private set; }

    /// <summary>True once <c>[DONE]</c> arrived and <c>message_stop</c> was written.</summary>
    public bool Done { get; private set; }

    /// <summary>The Anthropic type of an in-stream error chunk, if one arrived.</summary>
    public string? StreamErrorType { get; private set; }

    /// <summary>Translates <paramref name="chunk"/>, appending Messages SSE bytes to <paramref name="sse"/>. Returns false once <see cref="Failure"/> is set.</summary>
    public bool Feed(ReadOnlySpan<byte> chunk, IBufferWriter<byte> sse)
    {
        ArgumentNullException.ThrowIfNull(sse);
        if (Failure is not null)
        {
            return false;
        }
        if (_ended)
        {
            return true; // after [DONE] or an error chunk nothing more is translated
        }
        _output = sse;
        try
        {
            _parser.Feed(chunk, this);
        }
        finally
        {
            _output = null;
        }
        if (_parser.Overflowed && Failure is null)
        {
            Fail("upstream_stream_corrupt", "upstream sent a stream event larger than 16 MiB; the answer is incomplete");
        }
        return Failure is null;
    }

    /// <summary>The upstream body ended: returns false (with <see cref="Failure"/>) unless <c>[DONE]</c> or an error chunk was seen.</summary>
    public bool Complete(IBufferWriter<byte> sse)
    {
        ArgumentNullException.ThrowIfNull(sse);
        // A last line without its blank line still counts (the SSE parser dispatches on the blank line).
        Feed("\n\n"u8, sse);
        if (Failure is not null)
        {
            return false;
        }
        if (!_ended)
        {
            Fail("upstream_stream_incomplete", "upstream ended the chat-completions stream before [DONE]; the answer is incomplete");
            return false;
        }
        return true;
    }

    void ISseEventSink.OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
    {
        if (_ended || Failure is not null)
        {
            return;
        }
        if (data.Trim(" \t"u8).SequenceEqual("[DONE]"u8))
        {
            Finish();
            return;
        }
        JsonDocument chunk;
        try
        {
            chunk = JsonDocument.Parse(data.ToArray());
        }
        catch (JsonException)
        {
            Fail("upstream_stream_corrupt", "upstream sent a chat-completions chunk that is not JSON; the answer is incomplete");
            return;
        }
        using (chunk)
        {
            var root = chunk.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                Fail("upstream_stream_corrupt", "upstream sent a chat-completions chunk that is not a JSON object; the answer is incomplete");
                return;
            }
            if (root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null)
            {
                WriteError(error);
                return;
            }
            OnChunk(root);
        }
    }

    private void OnChunk(JsonElement root)
    {
        if (!Started)
        {
            Start(root.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String ? id.GetString() : null,
                root.TryGetProperty("model", out var model) && model.ValueKind == JsonValueKind.String ? model.GetString() : null);
        }
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
        {
            _usage = OpenAiUsage.Read(usage);
        }
        if (!root.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
        {
            return;
        }
        foreach (var choice in choices.EnumerateArray())
        {
            if (choice.ValueKind != JsonValueKind.Object
                || (choice.TryGetProperty("index", out var index) && index.ValueKind == JsonValueKind.Number && index.GetInt32() != 0))
            {
                continue; // only one choice is ever asked for
            }
            if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
            {
                OnDelta(delta);
                if (Failure is not null)
                {
                    return;
                }
            }
            if (choice.TryGetProperty("finish_reason", out var finish) && finish.ValueKind == JsonValueKind.String)
            {
                _finishReason = finish.GetString();
                CloseBlock();
            }
        }
    }

    private void OnDelta(JsonElement delta)
    {
        var reasoning = NonEmptyString(delta, "reasoning_content") ?? NonEmptyString(delta, "reasoning");
        if (reasoning is not null)
        {
            if (_open != BlockKind.Thinking)
            {
                OpenBlock(BlockKind.Thinking, null);
            }
            WriteDelta("thinking_delta"u8, "thinking"u8, reasoning);
        }
        if (NonEmptyString(delta, "content") is { } text)
        {
            if (_open != BlockKind.Text)
            {
                OpenBlock(BlockKind.Text, null);
            }
            WriteDelta("text_delta"u8, "text"u8, text);
        }
        if (delta.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
        {
            var position = 0;
            foreach (var call in calls.EnumerateArray())
            {
                OnToolCall(call, position++);
                if (Failure is not null)
                {
                    return;
                }
            }
        }
    }

    private void OnToolCall(JsonElement call, int position)
    {
        if (call.ValueKind != JsonValueKind.Object)
        {
            return;
        }
        var index = call.TryGetProperty("index", out var indexElement) && indexElement.ValueKind == JsonValueKind.Number
            ? indexElement.GetInt32()
            : position;
        var function = call.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object ? f : default;
        if (!_tools.TryGetValue(index, out var tool))
        {
            var name = function.ValueKind == JsonValueKind.Object ? NonEmptyString(function, "name") : null;
            if (name is null)
            {
                Fail("upstream_stream_corrupt", $"upstream started tool call {index} without a function name; the answer is incomplete");
                return;
            }
            tool = new ToolCall(OpenAiMapping.ToolUseId(NonEmptyString(call, "id")), name);
            _tools[index] = tool;
            OpenBlock(BlockKind.Tool, tool);
        }
        else if (!ReferenceEquals(tool, _openTool))
        {
            Fail("upstream_stream_corrupt",
                $"upstream sent arguments for tool call {index} after moving on to another block; Messages blocks are sequential, the answer is incomplete");
            return;
        }
        if (function.ValueKind != JsonValueKind.Object || !function.TryGetProperty("arguments", out var arguments))
        {
            return;
        }
        string? fragment = arguments.ValueKind switch
        {
            JsonValueKind.String => arguments.GetString(),
            JsonValueKind.Object => arguments.GetRawText(), // whole arguments as an object (Ollama)
            _ => null,
        };
        if (string.IsNullOrEmpty(fragment))
        {
            return;
        }
        tool.Append(fragment, MaxCheckedArgumentBytes);
        WriteDelta("input_json_delta"u8, "partial_json"u8, fragment);
    }

    private void Start(string? id, string? model)
    {
        Started = true;
        var writer = BeginEvent();
        writer.WriteStartObject();
        writer.WriteString("type"u8, "message_start"u8);
        writer.WriteStartObject("message"u8);
        writer.WriteString("id"u8, OpenAiMapping.MessageId(id));
        writer.WriteString("type"u8, "message"u8);
        writer.WriteString("role"u8, "assistant"u8);
        writer.WriteString("model"u8, string.IsNullOrEmpty(model) ? _model : model);
        writer.WriteStartArray("content"u8);
        writer.WriteEndArray();
        writer.WriteNull("stop_reason"u8);
        writer.WriteNull("stop_sequence"u8);
        // Chat completions report usage only at the end; message_delta carries the real counts.
        writer.WriteStartObject("usage"u8);
        writer.WriteNumber("input_tokens"u8, 0);
        writer.WriteNumber("output_tokens"u8, 0);
        writer.WriteEndObject();
        writer.WriteEndObject();
        writer.WriteEndObject();
        EndEvent("message_start"u8);
    }

    private void OpenBlock(BlockKind kind, ToolCall? tool)
    {
        CloseBlock();
        _blockIndex++;
        _open = kind;
        _openTool = tool;
        var writer = BeginEvent();
        writer.WriteStartObject();
        writer.WriteString("type"u8, "content_block_start"u8);
        writer.WriteNumber("index"u8, _blockIndex);
        writer.WriteStartObject("content_block"u8);
        switch (kind)
        {
            case BlockKind.Thinking:
                writer.WriteString("type"u8, "thinking"u8);
                writer.WriteString("thinking"u8, ""u8);
                writer.WriteString("signature"u8, ""u8);
                break;
            case BlockKind.Text:
                writer.WriteString("type"u8, "text"u8);
                writer.WriteString("text"u8, ""u8);
                break;
            default:
                writer.WriteString("type"u8, "tool_use"u8);
                writer.WriteString("id"u8, tool!.Id);
                writer.WriteString("name"u8, tool.Name);
                writer.WriteStartObject("input"u8);
                writer.WriteEndObject();
                break;
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
        EndEvent("content_block_start"u8);
    }

    private void CloseBlock()
    {
        if (_open == BlockKind.None)
        {
            return;
        }
        if (_openTool is { } tool && !tool.ArgumentsAreValid())
        {
            Fail("upstream_invalid_tool_arguments", $"upstream called tool '{tool.Name}' with arguments that are not a JSON object; the answer is incomplete");
            return;
        }
        _open = BlockKind.None;
        _openTool = null;
        var writer = BeginEvent();
        writer.WriteStartObject();
        writer.WriteString("type"u8, "content_block_stop"u8);
        writer.WriteNumber("index"u8, _blockIndex);
        writer.WriteEndObject();
        EndEvent("content_block_stop"u8);
    }

    private void Finish()
    {
        if (!Started)
        {
            Start(null, null);
        }
        CloseBlock();
        if (Failure is not null)
        {
            return;
        }
        var stopReason = OpenAiMapping.StopReason(_finishReason, hasToolCalls: _tools.Count > 0);
        var writer = BeginEvent();
        writer.WriteStartObject();
        writer.WriteString("type"u8, "message_delta"u8);
        writer.WriteStartObject("delta"u8);
        writer.WriteString("stop_reason"u8, stopReason);
        writer.WriteNull("stop_sequence"u8);
        writer.WriteEndObject();
        _usage.WriteMessagesUsage(writer);
        writer.WriteEndObject();
        EndEvent("message_delta"u8);
        writer = BeginEvent();
        writer.WriteStartObject();
        writer.WriteString("type"u8, "message_stop"u8);
        writer.WriteEndObject();
        EndEvent("message_stop"u8);
        Done = true;
        _ended = true;
    }

    /// <summary>An in-stream error chunk (vLLM and OpenAI send <c>{"error":{"message","type","code"}}</c>) → an SSE <c>error</c> event.</summary>
    private void WriteError(JsonElement error)
    {
        var (type, message) = OpenAiErrors.Read(error, status: null);
        StreamErrorType = type;
        _ended = true;
        Write(AnthropicErrors.SseEvent(type, message ?? "upstream reported an error mid-stream"));
    }

    private void WriteDelta(ReadOnlySpan<byte> deltaType, ReadOnlySpan<byte> field, string value)
    {
        var writer = BeginEvent();
        writer.WriteStartObject();
        writer.WriteString("type"u8, "content_block_delta"u8);
        writer.WriteNumber("index"u8, _blockIndex);
        writer.WriteStartObject("delta"u8);
        writer.WriteString("type"u8, deltaType);
        writer.WriteString(field, value);
        writer.WriteEndObject();
        writer.WriteEndObject();
        EndEvent("content_block_delta"u8);
    }

    private Utf8JsonWriter BeginEvent()
    {
        _json.ResetWrittenCount();
        _writer.Reset(_json);
        return _writer;
    }

    private void EndEvent(ReadOnlySpan<byte> eventType)
    {
        _writer.Flush();
        if (Failure is not null)
        {
            return; // nothing after a failure: the caller ends the client stream with its error event
        }
        Write("event: "u8);
        Write(eventType);
        Write("\ndata: "u8);
        Write(_json.WrittenSpan);
        Write("\n\n"u8);
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        var output = _output!;
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }

    private void Fail(string errorType, string message)
    {
        Failure ??= new OpenAiStreamFailure(errorType, message);
        _ended = true;
    }

    private static string? NonEmptyString(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    /// <inheritdoc/>
    public void Dispose()
    {
        _parser.Dispose();
        _writer.Dispose();
    }

    private enum BlockKind
    {
        None,
        Thinking,
        Text,
        Tool,
    }

    /// <summary>One streamed tool call: its id, name and (for the end-of-block check) its arguments so far.</summary>
    private sealed class ToolCall(string id, string name)
    {
        private readonly StringBuilder _arguments = new();
        private bool _tooLarge;

        public string Id { get; } = id;

        public string Name { get; } = name;

        public void Append(string fragment, int limit)
        {
            if (_tooLarge || _arguments.Length + fragment.Length > limit)
            {
                _tooLarge = true;
                _arguments.Clear();
                return;
            }
            _arguments.Append(fragment);
        }

        /// <summary>No arguments (the client reads <c>{}</c>), or one JSON object; arguments too large to keep pass unchecked.</summary>
        public bool ArgumentsAreValid()
        {
            if (_tooLarge || _arguments.Length == 0)
            {
                return true;
            }
            var text = _arguments.ToString();
            return string.IsNullOrWhiteSpace(text) || OpenAiMapping.IsJsonObject(Encoding.UTF8.GetBytes(text));
        }
    }
}
