using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Airlock.Protocols.OpenAi;

/// <summary>
/// Translates a Messages API request body into an OpenAI chat-completions request body
/// (<c>POST /v1/chat/completions</c>, https://platform.openai.com/docs/api-reference/chat/create).
/// <list type="bullet">
/// <item><c>system</c> (string or text blocks) → a first <c>system</c> message; <c>system</c> messages inside
/// <c>messages</c> stay system messages where they are.</item>
/// <item>text blocks → text content (a plain string for one text block, content parts otherwise); images (base64
/// or URL) → <c>image_url</c> parts (base64 as a <c>data:</c> URL).</item>
/// <item>assistant <c>tool_use</c> → <c>tool_calls</c> (<c>arguments</c> = the input as a JSON string); user
/// <c>tool_result</c> → one <c>tool</c> message each, in order, before the rest of that user turn (OpenAI
/// requires tool answers to follow the assistant's calls directly). <c>is_error</c> becomes an <c>Error:</c>
/// prefix; images inside a tool result follow as a user message (tool messages carry text only).</item>
/// <item><c>tools</c> (<c>input_schema</c> → <c>function.parameters</c>), <c>tool_choice</c> (auto/any/tool/none →
/// auto/required/function/none, <c>disable_parallel_tool_use</c> → <c>parallel_tool_calls:false</c>),
/// <c>max_tokens</c>, <c>temperature</c>, <c>top_p</c>, <c>stop_sequences</c> → <c>stop</c>, <c>stream</c> →
/// <c>stream:true</c> with <c>stream_options.include_usage</c>.</item>
/// <item>Dropped (no chat-completions equivalent, and harmless to lose): <c>thinking</c> and
/// <c>redacted_thinking</c> blocks in history (signed by another model), <c>cache_control</c>, <c>citations</c>,
/// <c>metadata</c>, <c>thinking</c>, <c>top_k</c>, <c>context_management</c>, <c>output_config</c>,
/// <c>service_tier</c>, <c>defer_loading</c>, and top-level fields this version does not know (Claude Code adds
/// some every release; refusing them would break every session).</item>
/// <item>Refused with <see cref="OpenAiTranslationException"/> naming the field: content blocks with no
/// equivalent (documents, server tool blocks, unknown block types), server tools (<c>web_search_…</c>,
/// <c>bash_…</c>), file image sources, <c>mcp_servers</c>, <c>container</c>, malformed shapes.</item>
/// </list>
/// </summary>
public static class MessagesToChatCompletions
{
    private static readonly JsonWriterOptions WriterOptions = new()
    {
        // The body goes to a model server, not a browser: keep non-ASCII text as UTF-8 instead of \u escapes.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>
    /// Translates <paramref name="messagesBody"/>; <paramref name="model"/> is the upstream's model id;
    /// <paramref name="maxTokensCap"/>, when set, lowers a larger <c>max_tokens</c> to it.
    /// </summary>
    /// <exception cref="OpenAiTranslationException">Something in the body cannot be expressed, or the body is malformed.</exception>
    public static byte[] Translate(ReadOnlyMemory<byte> messagesBody, string model, bool stream, int? maxTokensCap = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(messagesBody, new JsonDocumentOptions { MaxDepth = 1024 });
        }
        catch (JsonException)
        {
            throw new OpenAiTranslationException("body", "is not valid JSON");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new OpenAiTranslationException("body", "must be a JSON object");
            }
            var output = new ArrayBufferWriter<byte>(Math.Max(1024, messagesBody.Length + messagesBody.Length / 4));
            using (var writer = new Utf8JsonWriter(output, WriterOptions))
            {
                writer.WriteStartObject();
                writer.WriteString("model"u8, model);
                WriteMessages(writer, root);
                var hasTools = WriteTools(writer, root);
                foreach (var property in root.EnumerateObject())
                {
                    WriteParameter(writer, property, hasTools, maxTokensCap);
                }
                if (stream)
                {
                    writer.WriteBoolean("stream"u8, true);
                    writer.WriteStartObject("stream_options"u8);
                    writer.WriteBoolean("include_usage"u8, true);
                    writer.WriteEndObject();
                }
                writer.WriteEndObject();
            }
            return output.WrittenSpan.ToArray();
        }
    }

    private static void WriteParameter(Utf8JsonWriter writer, JsonProperty property, bool hasTools, int? maxTokensCap)
    {
        var value = property.Value;
        switch (property.Name)
        {
            case "messages" or "system" or "tools":
                return; // written by WriteMessages / WriteTools
            case "max_tokens":
                // max_tokens (not max_completion_tokens): vLLM, Ollama, llama.cpp and SGLang all read it.
                RequireKind(value, JsonValueKind.Number, "max_tokens", "must be a number");
                if (maxTokensCap is { } cap && (!value.TryGetInt64(out var asked) || asked > cap))
                {
                    writer.WriteNumber("max_tokens"u8, cap);
                    return;
                }
                writer.WritePropertyName("max_tokens"u8);
                value.WriteTo(writer);
                return;
            case "temperature" or "top_p":
                if (value.ValueKind == JsonValueKind.Null)
                {
                    return;
                }
                RequireKind(value, JsonValueKind.Number, property.Name, "must be a number");
                writer.WritePropertyName(property.Name);
                value.WriteTo(writer);
                return;
            case "stop_sequences":
                if (value.ValueKind == JsonValueKind.Null || (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() == 0))
                {
                    return;
                }
                RequireKind(value, JsonValueKind.Array, "stop_sequences", "must be an array of strings");
                writer.WriteStartArray("stop"u8);
                var i = 0;
                foreach (var stop in value.EnumerateArray())
                {
                    RequireKind(stop, JsonValueKind.String, $"stop_sequences[{i++}]", "must be a string");
                    writer.WriteStringValue(stop.GetString());
                }
                writer.WriteEndArray();
                return;
            case "tool_choice":
                if (hasTools)
                {
                    WriteToolChoice(writer, value);
                }
                return;
            case "mcp_servers":
                if (value.ValueKind == JsonValueKind.Array && value.GetArrayLength() > 0)
                {
                    throw new OpenAiTranslationException("mcp_servers", "MCP connector servers run at Anthropic and cannot be used with an OpenAI chat-completions upstream");
                }
                return;
            case "container":
                if (value.ValueKind != JsonValueKind.Null)
                {
                    throw new OpenAiTranslationException("container", "code-execution containers cannot be used with an OpenAI chat-completions upstream");
                }
                return;
            default:
                // model and stream are written from the arguments; metadata, thinking, top_k, context_management,
                // output_config, service_tier and fields this version does not know are dropped (class summary).
                return;
        }
    }

    private static void WriteToolChoice(Utf8JsonWriter writer, JsonElement choice)
    {
        if (choice.ValueKind == JsonValueKind.Null)
        {
            return;
        }
        RequireKind(choice, JsonValueKind.Object, "tool_choice", "must be an object");
        var type = StringProperty(choice, "type", "tool_choice.type");
        switch (type)
        {
            case "auto":
                writer.WriteString("tool_choice"u8, "auto"u8);
                break;
            case "any":
                writer.WriteString("tool_choice"u8, "required"u8);
                break;
            case "none":
                writer.WriteString("tool_choice"u8, "none"u8);
                break;
            case "tool":
                writer.WriteStartObject("tool_choice"u8);
                writer.WriteString("type"u8, "function"u8);
                writer.WriteStartObject("function"u8);
                writer.WriteString("name"u8, StringProperty(choice, "name", "tool_choice.name"));
                writer.WriteEndObject();
                writer.WriteEndObject();
                break;
            default:
                throw new OpenAiTranslationException("tool_choice.type", $"'{Clip(type)}' has no chat-completions equivalent (expected auto, any, tool or none)");
        }
        if (type != "none" && choice.TryGetProperty("disable_parallel_tool_use", out var disable) && disable.ValueKind == JsonValueKind.True)
        {
            writer.WriteBoolean("parallel_tool_calls"u8, false);
        }
    }

    /// <summary>Writes <c>tools</c>; returns true when at least one tool was written.</summary>
    private static bool WriteTools(Utf8JsonWriter writer, JsonElement root)
    {
        if (!root.TryGetProperty("tools", out var tools) || tools.ValueKind == JsonValueKind.Null)
        {
            return false;
        }
        RequireKind(tools, JsonValueKind.Array, "tools", "must be an array");
        if (tools.GetArrayLength() == 0)
        {
            return false;
        }
        writer.WriteStartArray("tools"u8);
        var i = 0;
        foreach (var tool in tools.EnumerateArray())
        {
            var field = $"tools[{i++}]";
            RequireKind(tool, JsonValueKind.Object, field, "must be an object");
            if (tool.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && !type.ValueEquals("custom"))
            {
                throw new OpenAiTranslationException(field + ".type",
                    $"server tool '{Clip(type.GetString())}' runs at Anthropic and has no chat-completions equivalent");
            }
            writer.WriteStartObject();
            writer.WriteString("type"u8, "function"u8);
            writer.WriteStartObject("function"u8);
            writer.WriteString("name"u8, StringProperty(tool, "name", field + ".name"));
            if (tool.TryGetProperty("description", out var description) && description.ValueKind == JsonValueKind.String)
            {
                writer.WriteString("description"u8, description.GetString());
            }
            if (!tool.TryGetProperty("input_schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
            {
                throw new OpenAiTranslationException(field + ".input_schema", "required: a JSON schema object");
            }
            writer.WritePropertyName("parameters"u8);
            schema.WriteTo(writer);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        writer.WriteEndArray();
        return true;
    }

    private static void WriteMessages(Utf8JsonWriter writer, JsonElement root)
    {
        writer.WriteStartArray("messages"u8);
        if (root.TryGetProperty("system", out var system) && system.ValueKind != JsonValueKind.Null)
        {
            WriteSystem(writer, system, "system");
        }
        if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
        {
            throw new OpenAiTranslationException("messages", "required: an array of messages");
        }
        var i = 0;
        foreach (var message in messages.EnumerateArray())
        {
            var field = $"messages[{i++}]";
            RequireKind(message, JsonValueKind.Object, field, "must be an object");
            var role = StringProperty(message, "role", field + ".role");
            if (!message.TryGetProperty("content", out var content))
            {
                throw new OpenAiTranslationException(field + ".content", "required");
            }
            switch (role)
            {
                case "system":
                    WriteSystem(writer, content, field + ".content");
                    break;
                case "user":
                    WriteUser(writer, content, field + ".content");
                    break;
                case "assistant":
                    WriteAssistant(writer, content, field + ".content");
                    break;
                default:
                    throw new OpenAiTranslationException(field + ".role", $"'{Clip(role)}' is not a Messages role (user, assistant, system)");
            }
        }
        writer.WriteEndArray();
    }

    /// <summary>A system prompt (string or text blocks) as one system message; blocks are joined with a blank line.</summary>
    private static void WriteSystem(Utf8JsonWriter writer, JsonElement system, string field)
    {
        var text = system.ValueKind switch
        {
            JsonValueKind.String => system.GetString()!,
            JsonValueKind.Array => JoinTextBlocks(system, field),
            _ => throw new OpenAiTranslationException(field, "must be a string or an array of text blocks"),
        };
        if (text.Length == 0)
        {
            return;
        }
        writer.WriteStartObject();
        writer.WriteString("role"u8, "system"u8);
        writer.WriteString("content"u8, text);
        writer.WriteEndObject();
    }

    private static string JoinTextBlocks(JsonElement blocks, string field)
    {
        var builder = new StringBuilder();
        var j = 0;
        foreach (var block in blocks.EnumerateArray())
        {
            var blockField = $"{field}[{j++}]";
            var type = BlockType(block, blockField);
            if (type != "text")
            {
                throw new OpenAiTranslationException(blockField + ".type", $"'{Clip(type)}' blocks are not allowed here (text only)");
            }
            if (builder.Length > 0)
            {
                builder.Append("\n\n");
            }
            builder.Append(StringProperty(block, "text", blockField + ".text"));
        }
        return builder.ToString();
    }

    private static void WriteUser(Utf8JsonWriter writer, JsonElement content, string field)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            WriteUserText(writer, content.GetString()!);
            return;
        }
        RequireKind(content, JsonValueKind.Array, field, "must be a string or an array of content blocks");
        // Tool answers first, in order (they must follow the assistant's tool_calls directly), then what else the
        // turn says, in order, as one user message.
        List<JsonElement>? parts = null;
        List<(JsonElement Image, string Field)>? toolImages = null;
        var j = 0;
        foreach (var block in content.EnumerateArray())
        {
            var blockField = $"{field}[{j++}]";
            var type = BlockType(block, blockField);
            switch (type)
            {
                case "text":
                    _ = StringProperty(block, "text", blockField + ".text");
                    (parts ??= []).Add(block);
                    break;
                case "image":
                    CheckImage(block, blockField);
                    (parts ??= []).Add(block);
                    break;
                case "tool_result":
                    WriteToolResult(writer, block, blockField, ref toolImages);
                    break;
                case "thinking" or "redacted_thinking":
                    break;
                default:
                    throw Unsupported(blockField, type);
            }
        }
        if (toolImages is not null)
        {
            writer.WriteStartObject();
            writer.WriteString("role"u8, "user"u8);
            writer.WriteStartArray("content"u8);
            foreach (var (image, imageField) in toolImages)
            {
                WriteImagePart(writer, image, imageField);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        if (parts is null)
        {
            return;
        }
        if (parts.Count == 1 && parts[0].GetProperty("type").ValueEquals("text"))
        {
            WriteUserText(writer, parts[0].GetProperty("text").GetString()!);
            return;
        }
        writer.WriteStartObject();
        writer.WriteString("role"u8, "user"u8);
        writer.WriteStartArray("content"u8);
        foreach (var part in parts)
        {
            if (part.GetProperty("type").ValueEquals("text"))
            {
                writer.WriteStartObject();
                writer.WriteString("type"u8, "text"u8);
                writer.WriteString("text"u8, part.GetProperty("text").GetString());
                writer.WriteEndObject();
            }
            else
            {
                WriteImagePart(writer, part, field);
            }
        }
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static void WriteUserText(Utf8JsonWriter writer, string text)
    {
        writer.WriteStartObject();
        writer.WriteString("role"u8, "user"u8);
        writer.WriteString("content"u8, text);
        writer.WriteEndObject();
    }

    private static void WriteToolResult(Utf8JsonWriter writer, JsonElement block, string field, ref List<(JsonElement, string)>? images)
    {
        var id = StringProperty(block, "tool_use_id", field + ".tool_use_id");
        var text = new StringBuilder();
        if (block.TryGetProperty("is_error", out var isError) && isError.ValueKind == JsonValueKind.True)
        {
            // Chat completions have no error flag on tool messages; the model reads it from the text.
            text.Append("Error: ");
        }
        if (block.TryGetProperty("content", out var content))
        {
            switch (content.ValueKind)
            {
                case JsonValueKind.String:
                    text.Append(content.GetString());
                    break;
                case JsonValueKind.Array:
                    var k = 0;
                    var first = true;
                    foreach (var part in content.EnumerateArray())
                    {
                        var partField = $"{field}.content[{k++}]";
                        var type = BlockType(part, partField);
                        if (type == "text")
                        {
                            if (!first)
                            {
                                text.Append("\n\n");
                            }
                            text.Append(StringProperty(part, "text", partField + ".text"));
                            first = false;
                        }
                        else if (type == "image")
                        {
                            CheckImage(part, partField);
                            (images ??= []).Add((part, partField));
                        }
                        else if (type != "tool_reference")
                        {
                            // tool_reference only tells Anthropic's tool search which deferred tool to load; every
                            // tool is already declared to an OpenAI upstream.
                            throw Unsupported(partField, type);
                        }
                    }
                    break;
                case JsonValueKind.Null:
                    break;
                default:
                    throw new OpenAiTranslationException(field + ".content", "must be a string or an array of content blocks");
            }
        }
        writer.WriteStartObject();
        writer.WriteString("role"u8, "tool"u8);
        writer.WriteString("tool_call_id"u8, id);
        writer.WriteString("content"u8, text.ToString());
        writer.WriteEndObject();
    }

    private static void WriteAssistant(Utf8JsonWriter writer, JsonElement content, string field)
    {
        if (content.ValueKind == JsonValueKind.String)
        {
            writer.WriteStartObject();
            writer.WriteString("role"u8, "assistant"u8);
            writer.WriteString("content"u8, content.GetString());
            writer.WriteEndObject();
            return;
        }
        RequireKind(content, JsonValueKind.Array, field, "must be a string or an array of content blocks");
        StringBuilder? text = null;
        List<JsonElement>? calls = null;
        var j = 0;
        foreach (var block in content.EnumerateArray())
        {
            var blockField = $"{field}[{j++}]";
            var type = BlockType(block, blockField);
            switch (type)
            {
                case "text":
                    var value = StringProperty(block, "text", blockField + ".text");
                    text ??= new StringBuilder();
                    if (text.Length > 0 && value.Length > 0)
                    {
                        text.Append("\n\n");
                    }
                    text.Append(value);
                    break;
                case "tool_use":
                    _ = StringProperty(block, "id", blockField + ".id");
                    _ = StringProperty(block, "name", blockField + ".name");
                    (calls ??= []).Add(block);
                    break;
                case "thinking" or "redacted_thinking":
                    // Signed reasoning of an Anthropic model (or our translation of the upstream's): not replayable.
                    break;
                default:
                    throw Unsupported(blockField, type);
            }
        }
        if (text is null && calls is null)
        {
            return; // only thinking: nothing an OpenAI server can take
        }
        writer.WriteStartObject();
        writer.WriteString("role"u8, "assistant"u8);
        if (text is not null)
        {
            writer.WriteString("content"u8, text.ToString());
        }
        else
        {
            writer.WriteNull("content"u8);
        }
        if (calls is not null)
        {
            writer.WriteStartArray("tool_calls"u8);
            foreach (var call in calls)
            {
                writer.WriteStartObject();
                writer.WriteString("id"u8, call.GetProperty("id").GetString());
                writer.WriteString("type"u8, "function"u8);
                writer.WriteStartObject("function"u8);
                writer.WriteString("name"u8, call.GetProperty("name").GetString());
                writer.WriteString("arguments"u8, call.TryGetProperty("input", out var input) && input.ValueKind == JsonValueKind.Object
                    ? input.GetRawText()
                    : "{}");
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        writer.WriteEndObject();
    }

    private static void CheckImage(JsonElement block, string field)
    {
        if (!block.TryGetProperty("source", out var source) || source.ValueKind != JsonValueKind.Object)
        {
            throw new OpenAiTranslationException(field + ".source", "required: an image source object");
        }
        var type = StringProperty(source, "type", field + ".source.type");
        switch (type)
        {
            case "base64":
                _ = StringProperty(source, "media_type", field + ".source.media_type");
                _ = StringProperty(source, "data", field + ".source.data");
                break;
            case "url":
                _ = StringProperty(source, "url", field + ".source.url");
                break;
            default:
                throw new OpenAiTranslationException(field + ".source.type", $"'{Clip(type)}' image sources cannot be sent to an OpenAI chat-completions upstream (base64 and url only)");
        }
    }

    private static void WriteImagePart(Utf8JsonWriter writer, JsonElement block, string field)
    {
        var source = block.GetProperty("source");
        writer.WriteStartObject();
        writer.WriteString("type"u8, "image_url"u8);
        writer.WriteStartObject("image_url"u8);
        if (source.GetProperty("type").ValueEquals("base64"))
        {
            writer.WriteString("url"u8, "data:" + source.GetProperty("media_type").GetString() + ";base64," + source.GetProperty("data").GetString());
        }
        else
        {
            writer.WriteString("url"u8, StringProperty(source, "url", field + ".source.url"));
        }
        writer.WriteEndObject();
        writer.WriteEndObject();
    }

    private static string BlockType(JsonElement block, string field)
    {
        RequireKind(block, JsonValueKind.Object, field, "must be a content block object");
        return StringProperty(block, "type", field + ".type");
    }

    private static OpenAiTranslationException Unsupported(string field, string type) =>
        new(field + ".type", $"'{Clip(type)}' blocks cannot be sent to an OpenAI chat-completions upstream");

    private static string StringProperty(JsonElement element, string name, string field)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
        {
            throw new OpenAiTranslationException(field, "required: a string");
        }
        return value.GetString()!;
    }

    private static void RequireKind(JsonElement element, JsonValueKind kind, string field, string reason)
    {
        if (element.ValueKind != kind)
        {
            throw new OpenAiTranslationException(field, reason);
        }
    }

    /// <summary>Type names are echoed in errors; a long or odd one is cut so an error never carries much client text.</summary>
    private static string Clip(string? value) => value is null ? "" : value.Length <= 40 ? value : value[..40] + "…";
}
