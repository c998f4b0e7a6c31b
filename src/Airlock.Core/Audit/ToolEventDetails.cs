using System.Text.Json.Serialization;

namespace Airlock.Core.Audit;

/// <summary>
/// A Claude Code hook event as the audit trail keeps it (<see cref="AuditKind.ToolEvent"/> records). The
/// session, user and time live on the <see cref="AuditRecord"/> itself, so <c>airlock audit list --session S</c>
/// interleaves model calls and tool actions in one timeline. No file content, prompt text or tool output is kept.
/// </summary>
public sealed record ToolEventDetails
{
    /// <summary>Longest <see cref="Command"/> kept; longer commands are cut and <see cref="CommandTruncated"/> set.</summary>
    public const int MaxCommandLength = 2048;

    /// <summary>Hook event name as Claude Code sends it (<c>hook_event_name</c>): PreToolUse, PostToolUse, UserPromptSubmit, SessionStart, SessionEnd, Stop, …</summary>
    public required string HookEvent { get; init; }

    /// <summary>Tool the event is about (<c>tool_name</c>: Read, Edit, Bash, mcp__…); null for events without a tool.</summary>
    public string? ToolName { get; init; }

    /// <summary>Files the tool touches (<c>tool_input.file_path</c>, <c>notebook_path</c>, <c>path</c>…), as sent (absolute paths).</summary>
    public IReadOnlyList<string> FilePaths { get; init; } = [];

    /// <summary>Shell command of a Bash tool call, at most <see cref="MaxCommandLength"/> characters.</summary>
    public string? Command { get; init; }

    /// <summary>True when <see cref="Command"/> was cut to <see cref="MaxCommandLength"/>.</summary>
    public bool CommandTruncated { get; init; }

    /// <summary>What the gateway's policy answered the hook (PreToolUse / PermissionRequest), or none.</summary>
    public ToolDecision Decision { get; init; } = ToolDecision.None;

    /// <summary>Why, when the decision is not none (e.g. <c>secret file: .env</c>); never a secret value.</summary>
    public string? DecisionReason { get; init; }

    /// <summary>How long the tool ran, when the hook reports it (PostToolUse), in milliseconds.</summary>
    public double? DurationMs { get; init; }

    /// <summary>Working directory of the Claude Code session (<c>cwd</c>).</summary>
    public string? Cwd { get; init; }

    /// <summary>
    /// Id the hook assigns to the event (unique per event, reused on redelivery). The store keeps the first
    /// record with a given id and skips repeats, so delivery is idempotent.
    /// </summary>
    public string? EventId { get; init; }

    /// <summary>Keeps <paramref name="command"/> within <see cref="MaxCommandLength"/>; returns the text and whether it was cut.</summary>
    public static (string? Command, bool Truncated) LimitCommand(string? command)
    {
        if (command is not { Length: > MaxCommandLength })
        {
            return (command, false);
        }
        // Never cut between the two halves of a surrogate pair (the stored text must stay valid UTF-16).
        var length = char.IsHighSurrogate(command[MaxCommandLength - 1]) ? MaxCommandLength - 1 : MaxCommandLength;
        return (command[..length], true);
    }
}

/// <summary>Answer of the gateway's policy to a hook event.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ToolDecision>))]
public enum ToolDecision
{
    /// <summary>No decision was asked or given (<c>none</c>).</summary>
    [JsonStringEnumMemberName("none")]
    None,

    /// <summary>The tool call was allowed (<c>allow</c>).</summary>
    [JsonStringEnumMemberName("allow")]
    Allow,

    /// <summary>The tool call was denied (<c>deny</c>).</summary>
    [JsonStringEnumMemberName("deny")]
    Deny,

    /// <summary>Claude Code was told to ask the user (<c>ask</c>).</summary>
    [JsonStringEnumMemberName("ask")]
    Ask,
}

/// <summary>Text forms of <see cref="ToolDecision"/> as stored and shown (<c>none</c>, <c>allow</c>, <c>deny</c>, <c>ask</c>).</summary>
public static class ToolDecisions
{
    /// <summary>Stored text of a decision.</summary>
    public static string ToText(ToolDecision decision) => decision switch
    {
        ToolDecision.None => "none",
        ToolDecision.Allow => "allow",
        ToolDecision.Deny => "deny",
        ToolDecision.Ask => "ask",
        _ => throw new ArgumentOutOfRangeException(nameof(decision)),
    };

    /// <summary>Parses a stored decision.</summary>
    public static ToolDecision Parse(string text) => text switch
    {
        "none" => ToolDecision.None,
        "allow" => ToolDecision.Allow,
        "deny" => ToolDecision.Deny,
        "ask" => ToolDecision.Ask,
        _ => throw new FormatException($"unknown tool decision '{text}'"),
    };
}
