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
    public static HookInput? TryParse(ReadOnlySpan<byte> json, out string? problem)
    {
        problem = null;
        if (json.IsEmpty)
        {
            problem = "no input on stdin";
            return null;
        }
        JsonDocument document;
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 256, AllowTrailingCommas = false });
            document = JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException ex)
        {
            problem = $"input is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine})";
            return null;
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problem = "input is not a JSON object";
                return null;
            }
            var eventName = Str(root, "hook_event_name");
            if (string.IsNullOrEmpty(eventName))
            {
                problem = "input has no hook_event_name";
                return null;
            }
            var toolInput = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("tool_input", out var input) && input.ValueKind == JsonValueKind.Object)
            {
                foreach (var field in ToolInputFields)
                {
                    if (Str(input, field) is { } value)
                    {
                        toolInput[field] = value;
                    }
                }
            }
            return new HookInput
            {
                EventName = eventName,
                SessionId = Str(root, "session_id"),
                Cwd = Str(root, "cwd"),
                PromptId = Str(root, "prompt_id"),
                PermissionMode = Str(root, "permission_mode"),
                ToolName = Str(root, "tool_name"),
                ToolUseId = Str(root, "tool_use_id"),
                ToolInput = toolInput,
                Prompt = Str(root, "prompt"),
                DurationMs = root.TryGetProperty("duration_ms", out var d) && d.TryGetDouble(out var ms) ? ms : null,
                Detail = Str(root, "source") ?? Str(root, "reason"),
            };
        }
    }

    /// <summary>A tool_input string field, or null.</summary>
    public string? Input(string name) => ToolInput.TryGetValue(name, out var value) ? value : null;

    private static string? Str(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
