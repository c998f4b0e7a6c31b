using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Airlock.Protocols.OpenAi;

/// <summary>
/// Translates a (non-streamed) chat completion into a Messages message: reasoning (<c>reasoning_content</c> or
/// <c>reasoning</c>, as vLLM, SGLang, llama.cpp and Ollama name it) → a <c>thinking</c> block, <c>content</c> → a
/// <c>text</c> block, <c>tool_calls</c> → <c>tool_use</c> blocks (ids kept when plausible, else <c>toolu_…</c>;
/// <c>arguments</c> parsed as a JSON object), <c>finish_reason</c> → <c>stop_reason</c>
/// (<see cref="OpenAiMapping.StopReason"/>), <c>usage</c> → <c>usage</c> (<see cref="OpenAiUsage"/>).
/// Only the first choice is read (the request never asks for more).
/// </summary>
public static class ChatCompletionToMessage
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Translates <paramref name="completion"/>; <paramref name="model"/> is used when the answer names none.</summary>
    /// <exception cref="OpenAiTranslationException">The answer is not a chat completion, or a tool call's arguments are not a JSON object.</exception>
    public static byte[] Translate(ReadOnlyMemory<byte> completion, string model)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(completion);
        }
        catch (JsonException)
        {
            throw new OpenAiTranslationException("response", "is not valid JSON");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("choices", out var choices)
                || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            {
                throw new OpenAiTranslationException("response.choices", "required: a non-empty array");
            }
            var choice = choices[0];
            if (choice.ValueKind != JsonValueKind.Object || !choice.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object)
            {
                throw new OpenAiTranslationException("response.choices[0].message", "required: an object");
            }
            var output = new ArrayBufferWriter<byte>(1024 + completion.Length);
            using (var writer = new Utf8JsonWriter(output, WriterOptions))
            {
                writer.WriteStartObject();
                writer.WriteString("id"u8, OpenAiMapping.MessageId(String(root, "id")));
                writer.WriteString("type"u8, "message"u8);
                writer.WriteString("role"u8, "assistant"u8);
                writer.WriteString("model"u8, String(root, "model") ?? model);
                writer.WriteStartArray("content"u8);
                var reasoning = String(message, "reasoning_content") ?? String(message, "reasoning");
                if (!string.IsNullOrEmpty(reasoning))
                {
                    writer.WriteStartObject();
                    writer.WriteString("type"u8, "thinking"u8);
                    writer.WriteString("thinking"u8, reasoning);
                    writer.WriteString("signature"u8, ""u8);
                    writer.WriteEndObject();
                }
                var text = Text(message);
                if (!string.IsNullOrEmpty(text))
                {
                    writer.WriteStartObject();
                    writer.WriteString("type"u8, "text"u8);
                    writer.WriteString("text"u8, text);
                    writer.WriteEndObject();
                }
                var hasToolCalls = WriteToolCalls(writer, message);
                writer.WriteEndArray();
                writer.WriteString("stop_reason"u8, OpenAiMapping.StopReason(String(choice, "finish_reason"), hasToolCalls));
                writer.WriteNull("stop_sequence"u8);
                (root.TryGetProperty("usage", out var usage) ? OpenAiUsage.Read(usage) : default).WriteMessagesUsage(writer);
                writer.WriteEndObject();
            }
            return output.WrittenSpan.ToArray();
        }
    }

    /// <summary>Writes the tool_use blocks; returns true when there was at least one.</summary>
    private static bool WriteToolCalls(Utf8JsonWriter writer, JsonElement message)
    {
        if (!message.TryGetProperty("tool_calls", out var calls) || calls.ValueKind != JsonValueKind.Array)
        {
            return false;
        }
        var i = 0;
        foreach (var call in calls.EnumerateArray())
        {
            var field = $"response.choices[0].message.tool_calls[{i++}]";
            if (call.ValueKind != JsonValueKind.Object || !call.TryGetProperty("function", out var function) || function.ValueKind != JsonValueKind.Object)
            {
                throw new OpenAiTranslationException(field + ".function", "required: an object");
            }
            var name = String(function, "name");
            if (string.IsNullOrEmpty(name))
            {
                throw new OpenAiTranslationException(field + ".function.name", "required: a string");
            }
            var arguments = function.TryGetProperty("arguments", out var args) ? args : default;
            writer.WriteStartObject();
            writer.WriteString("type"u8, "tool_use"u8);
            writer.WriteString("id"u8, OpenAiMapping.ToolUseId(String(call, "id")));
            writer.WriteString("name"u8, name);
            writer.WritePropertyName("input"u8);
            switch (arguments.ValueKind)
            {
                case JsonValueKind.String:
                    var json = Encoding.UTF8.GetBytes(arguments.GetString()!);
                    if (json.AsSpan().Trim(" \t\r\n"u8).IsEmpty)
                    {
                        writer.WriteStartObject();
                        writer.WriteEndObject();
                    }
                    else if (OpenAiMapping.IsJsonObject(json))
                    {
                        writer.WriteRawValue(json, skipInputValidation: false);
                    }
                    else
                    {
                        throw new OpenAiTranslationException(field + ".function.arguments", $"tool '{name}' was called with arguments that are not a JSON object");
                    }
                    break;
                case JsonValueKind.Object:
                    // Some servers (Ollama's native shape) send the object itself.
                    arguments.WriteTo(writer);
                    break;
                case JsonValueKind.Undefined or JsonValueKind.Null:
                    writer.WriteStartObject();
                    writer.WriteEndObject();
                    break;
                default:
                    throw new OpenAiTranslationException(field + ".function.arguments", $"tool '{name}' was called with arguments that are not a JSON object");
            }
            writer.WriteEndObject();
        }
        return i > 0;
    }

    /// <summary><c>content</c> as a string, or its text parts joined (some servers answer with parts).</summary>
    private static string? Text(JsonElement message)
    {
        if (!message.TryGetProperty("content", out var content))
        {
            return null;
        }
        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString();
        }
        if (content.ValueKind != JsonValueKind.Array)
        {
            return null;
        }
        var builder = new StringBuilder();
        foreach (var part in content.EnumerateArray())
        {
            if (part.ValueKind == JsonValueKind.Object && String(part, "text") is { } text)
            {
                builder.Append(text);
            }
        }
        return builder.ToString();
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
