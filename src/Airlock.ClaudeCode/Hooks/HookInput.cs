using System.Text.Json;

namespace Airlock.ClaudeCode.Hooks;

/// <summary>
/// The JSON Claude Code writes to a hook's stdin. Common fields (<c>session_id</c>, <c>transcript_path</c>,
/// <c>cwd</c>, <c>hook_event_name</c>, <c>prompt_id</c>, <c>permission_mode</c>) plus the event's own:
/// <c>tool_name</c>/<c>tool_input</c>/<c>tool_use_id</c> (PreToolUse, PostToolUse; PostToolUse adds
/// <c>duration_ms</c>), <c>prompt</c> (UserPromptSubmit), <c>source</c> (SessionStart), <c>reason</c>
/// (SessionEnd). Source: the hooks reference and observed input of Claude Code 2.1.330.
/// </summary>
public sealed record HookInput
{
    public required string EventName { get; init; }

    public string? SessionId { get; init; }

    public string? Cwd { get; init; }

    public string? PromptId { get; init; }

    public string? PermissionMode { get; init; }

    public string? ToolName { get; init; }

    public string? ToolUseId { get; init; }

    /// <summary>String fields of <c>tool_input</c> the hook looks at (file_path, notebook_path, path, command, pattern, url).</summary>
    public IReadOnlyDictionary<string, string> ToolInput { get; init; } = new Dictionary<string, string>();

    /// <summary>UserPromptSubmit: what the developer typed.</summary>
    public string? Prompt { get; init; }

    public double? DurationMs { get; init; }

    /// <summary>SessionStart <c>source</c> or SessionEnd <c>reason</c>.</summary>
    public string? Detail { get; init; }

    private static readonly string[] ToolInputFields = ["file_path", "notebook_path", "path", "command", "pattern", "url", "glob"];

    /// <summary>Parses stdin; null with a reason that names the problem (never the content) when it is unusable.</summary>
    /// <remarks>
    /// One forward pass with <see cref="Utf8JsonReader"/> (the whole input is still validated): a JsonDocument rents
    /// from the shared array pool, whose first use times the CPU's processor-id instruction, a measurable slice of a
    /// hook call. A repeated field keeps its last value, as JavaScript's JSON.parse (Claude Code's own view) does.
    /// </remarks>
    public static HookInput? TryParse(ReadOnlySpan<byte> json, out string? problem)
    {
        problem = null;
        if (json.IsEmpty)
        {
            problem = "no input on stdin";
            return null;
        }
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        var toolInput = new Dictionary<string, string>(StringComparer.Ordinal);
        double? durationMs = null;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256, AllowTrailingCommas = false });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                // Reading on validates the rest, so malformed JSON is reported as such, not as "not an object".
                reader.Skip();
                while (reader.Read())
                {
                }
                problem = "input is not a JSON object";
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.GetString()!;
                reader.Read();
                if (name == "tool_input" && reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadToolInput(ref reader, toolInput);
                }
                else if (name == "duration_ms" && reader.TokenType == JsonTokenType.Number)
                {
                    durationMs = reader.TryGetDouble(out var ms) ? ms : null;
                }
                else if (reader.TokenType == JsonTokenType.String)
                {
                    fields[name] = reader.GetString()!;
                }
                else
                {
                    fields.Remove(name);
                    reader.Skip();
                }
            }
            // Anything after the object (a second value) is invalid JSON: the reader throws on it.
            while (reader.Read())
            {
            }
        }
        catch (JsonException ex)
        {
            problem = $"input is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine})";
            return null;
        }
        catch (InvalidOperationException)
        {
            // GetString on a string with invalid escapes (a lone surrogate) and similar.
            problem = "input is not valid JSON (a string cannot be decoded)";
            return null;
        }
        var eventName = Field(fields, "hook_event_name");
        if (string.IsNullOrEmpty(eventName))
        {
            problem = "input has no hook_event_name";
            return null;
        }
        return new HookInput
        {
            EventName = eventName,
            SessionId = Field(fields, "session_id"),
            Cwd = Field(fields, "cwd"),
            PromptId = Field(fields, "prompt_id"),
            PermissionMode = Field(fields, "permission_mode"),
            ToolName = Field(fields, "tool_name"),
            ToolUseId = Field(fields, "tool_use_id"),
            ToolInput = toolInput,
            Prompt = Field(fields, "prompt"),
            DurationMs = durationMs,
            Detail = Field(fields, "source") ?? Field(fields, "reason"),
        };
    }

    /// <summary>Keeps the string fields of <c>tool_input</c> the hook looks at; skips the rest (a Write's content can be megabytes).</summary>
    private static void ReadToolInput(ref Utf8JsonReader reader, Dictionary<string, string> toolInput)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            if (reader.TokenType == JsonTokenType.String && Array.IndexOf(ToolInputFields, name) >= 0)
            {
                toolInput[name] = reader.GetString()!;
            }
            else
            {
                toolInput.Remove(name);
                reader.Skip();
            }
        }
    }

    private static string? Field(Dictionary<string, string> fields, string name) => fields.TryGetValue(name, out var value) ? value : null;

    /// <summary>A tool_input string field, or null.</summary>
    public string? Input(string name) => ToolInput.TryGetValue(name, out var value) ? value : null;
}
