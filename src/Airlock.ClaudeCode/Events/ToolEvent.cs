using System.Globalization;
using System.Text.Json;

namespace Airlock.ClaudeCode.Events;

/// <summary>
/// One Claude Code hook event as the hook sends it to the gateway (<c>POST /airlock/v1/events</c>, a batch
/// <c>{"events":[…]}</c>) and as it waits in the on-disk queue. Metadata only: tool name, paths, the command
/// line with secrets redacted, the decision; never file contents or prompt text.
/// </summary>
public sealed record ToolEvent
{
    /// <summary>Longest command line kept (longer ones are cut; the event says so).</summary>
    public const int MaxCommandLength = 4096;

    /// <summary>Most file paths kept per event.</summary>
    public const int MaxPaths = 32;

    /// <summary>Unique id chosen by the hook; the gateway stores an id once, so a resent event is not a second record.</summary>
    public required string Id { get; init; }

    /// <summary>When the hook saw the event.</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>Hook event name: PreToolUse, PostToolUse, UserPromptSubmit, SessionStart, SessionEnd, Stop, …</summary>
    public required string HookEvent { get; init; }

    /// <summary>Claude Code session id (the same value Claude Code sends as <c>X-Claude-Code-Session-Id</c>).</summary>
    public string? SessionId { get; init; }

    /// <summary>Claude Code's prompt id, when it sent one.</summary>
    public string? PromptId { get; init; }

    /// <summary>The session's working directory.</summary>
    public string? Cwd { get; init; }

    /// <summary>Tool name for tool events (Read, Bash, mcp__server__tool, …).</summary>
    public string? ToolName { get; init; }

    /// <summary>Claude Code's tool use id (<c>toolu_…</c>): ties a PreToolUse to its PostToolUse and to the model turn.</summary>
    public string? ToolUseId { get; init; }

    /// <summary>Files the tool touched or the command named.</summary>
    public IReadOnlyList<string> FilePaths { get; init; } = [];

    /// <summary>The Bash command, with every secret the inspection engine found replaced by <c>[REDACTED:rule]</c>.</summary>
    public string? Command { get; init; }

    /// <summary>allow, deny (PreToolUse), block (UserPromptSubmit), or null for a plain report.</summary>
    public string? Decision { get; init; }

    /// <summary>Why the hook decided as it did (names the pattern or rule, never a value).</summary>
    public string? Reason { get; init; }

    /// <summary>Rule ids of findings (secret rules) behind the decision.</summary>
    public IReadOnlyList<string> RuleIds { get; init; } = [];

    /// <summary>How long the tool ran (PostToolUse <c>duration_ms</c>).</summary>
    public double? DurationMs { get; init; }

    /// <summary>Claude Code's permission mode when the event fired.</summary>
    public string? PermissionMode { get; init; }

    /// <summary>SessionStart source (startup, resume, clear, compact) or SessionEnd reason.</summary>
    public string? Detail { get; init; }

    /// <summary>Prompt length in characters (UserPromptSubmit): how much was typed, not what.</summary>
    public int? PromptLength { get; init; }

    /// <summary>The policy version the hook decided with.</summary>
    public string? PolicyVersion { get; init; }

    /// <summary>Writes the event as one JSON object.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStartObject();
        writer.WriteString("id", Id);
        writer.WriteString("time", Time.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        writer.WriteString("hook_event", HookEvent);
        WriteOptional(writer, "session_id", SessionId);
        WriteOptional(writer, "prompt_id", PromptId);
        WriteOptional(writer, "cwd", Cwd);
        WriteOptional(writer, "tool_name", ToolName);
        WriteOptional(writer, "tool_use_id", ToolUseId);
        if (FilePaths.Count > 0)
        {
            writer.WriteStartArray("file_paths");
            foreach (var path in FilePaths.Take(MaxPaths))
            {
                writer.WriteStringValue(path);
            }
            writer.WriteEndArray();
        }
        WriteOptional(writer, "command", Command);
        WriteOptional(writer, "decision", Decision);
        WriteOptional(writer, "reason", Reason);
        if (RuleIds.Count > 0)
        {
            writer.WriteStartArray("rule_ids");
            foreach (var rule in RuleIds)
            {
                writer.WriteStringValue(rule);
            }
            writer.WriteEndArray();
        }
        if (DurationMs is { } duration)
        {
            writer.WriteNumber("duration_ms", duration);
        }
        WriteOptional(writer, "permission_mode", PermissionMode);
        WriteOptional(writer, "detail", Detail);
        if (PromptLength is { } length)
        {
            writer.WriteNumber("prompt_length", length);
        }
        WriteOptional(writer, "policy_version", PolicyVersion);
        writer.WriteEndObject();
    }

    /// <summary>One event as JSON bytes (the queue file's content).</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteTo(writer);
        }
        return buffer.ToArray();
    }

    /// <summary>A batch body: <c>{"events":[…]}</c> from already serialized events.</summary>
    public static byte[] BatchJson(IEnumerable<ReadOnlyMemory<byte>> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("events");
            foreach (var item in events)
            {
                writer.WriteRawValue(item.Span, skipInputValidation: false);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// Reads one event; returns null with a reason when a required field is missing or a field has the wrong
    /// type or size. Strings are length-capped so a hostile client cannot bloat the trail.
    /// </summary>
    public static ToolEvent? TryRead(JsonElement element, out string? problem)
    {
        problem = null;
        if (element.ValueKind != JsonValueKind.Object)
        {
            problem = "an event must be a JSON object";
            return null;
        }
        var id = Str(element, "id", 128);
        var hookEvent = Str(element, "hook_event", 64);
        if (id is null || id.Length < 8 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            problem = "id: required, 8-128 characters of letters, digits, '-' or '_'";
            return null;
        }
        if (hookEvent is null || !hookEvent.All(char.IsAsciiLetterOrDigit))
        {
            problem = "hook_event: required, letters and digits only";
            return null;
        }
        if (!element.TryGetProperty("time", out var timeElement) || timeElement.ValueKind != JsonValueKind.String || !timeElement.TryGetDateTimeOffset(out var time))
        {
            problem = "time: required, an ISO 8601 timestamp";
            return null;
        }
        return new ToolEvent
        {
            Id = id,
            Time = time,
            HookEvent = hookEvent,
            SessionId = Str(element, "session_id", 128),
            PromptId = Str(element, "prompt_id", 128),
            Cwd = Str(element, "cwd", 4096),
            ToolName = Str(element, "tool_name", 256),
            ToolUseId = Str(element, "tool_use_id", 128),
            FilePaths = StrList(element, "file_paths", MaxPaths, 4096),
            Command = Str(element, "command", MaxCommandLength + 32),
            Decision = Str(element, "decision", 16),
            Reason = Str(element, "reason", 1024),
            RuleIds = StrList(element, "rule_ids", 64, 128),
            DurationMs = element.TryGetProperty("duration_ms", out var d) && d.ValueKind == JsonValueKind.Number && d.TryGetDouble(out var ms) && ms >= 0 ? ms : null,
            PermissionMode = Str(element, "permission_mode", 64),
            Detail = Str(element, "detail", 256),
            PromptLength = element.TryGetProperty("prompt_length", out var p) && p.ValueKind == JsonValueKind.Number && p.TryGetInt32(out var length) && length >= 0 ? length : null,
            PolicyVersion = Str(element, "policy_version", 64),
        };
    }

    private static void WriteOptional(Utf8JsonWriter writer, string name, string? value)
    {
        if (value is not null)
        {
            writer.WriteString(name, value);
        }
    }

    private static string? Str(JsonElement element, string name, int max)
    {
        if (!element.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String)
        {
            return null;
        }
        var text = value.GetString()!;
        return text.Length <= max ? text : text[..max];
    }

    private static List<string> StrList(JsonElement element, string name, int maxItems, int maxLength)
    {
        var list = new List<string>();
        if (!element.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.Array)
        {
            return list;
        }
        foreach (var item in value.EnumerateArray())
        {
            if (list.Count >= maxItems)
            {
                break;
            }
            if (item.ValueKind == JsonValueKind.String)
            {
                var text = item.GetString()!;
                list.Add(text.Length <= maxLength ? text : text[..maxLength]);
            }
        }
        return list;
    }
}
