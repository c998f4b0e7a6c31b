using System.Text.Json.Serialization;

namespace Airlock.Core.Audit;

/// <summary>What an audit record is about. Every kind shares one trail and one hash chain.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AuditKind>))]
public enum AuditKind
{
    /// <summary>A model call through a front door (<c>request</c>).</summary>
    [JsonStringEnumMemberName("request")]
    Request,

    /// <summary>A Claude Code hook event reported by <c>airlock hook</c> (<c>tool_event</c>).</summary>
    [JsonStringEnumMemberName("tool_event")]
    ToolEvent,

    /// <summary>An administrative action: key created or revoked, configuration loaded, … (<c>admin</c>).</summary>
    [JsonStringEnumMemberName("admin")]
    Admin,

    /// <summary>A retention purge, recording what was removed (<c>purge</c>).</summary>
    [JsonStringEnumMemberName("purge")]
    Purge,
}

/// <summary>Text forms of <see cref="AuditKind"/> as stored and shown (<c>request</c>, <c>tool_event</c>, <c>admin</c>, <c>purge</c>).</summary>
public static class AuditKinds
{
    /// <summary>Stored text of a kind.</summary>
    public static string ToText(AuditKind kind) => kind switch
    {
        AuditKind.Request => "request",
        AuditKind.ToolEvent => "tool_event",
        AuditKind.Admin => "admin",
        AuditKind.Purge => "purge",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Parses a stored kind.</summary>
    public static AuditKind Parse(string text) => TryParse(text, out var kind) ? kind : throw new FormatException($"unknown audit kind '{text}'");

    /// <summary>Parses a stored kind; false for anything else.</summary>
    public static bool TryParse(string? text, out AuditKind kind)
    {
        (var ok, kind) = text switch
        {
            "request" => (true, AuditKind.Request),
            "tool_event" => (true, AuditKind.ToolEvent),
            "admin" => (true, AuditKind.Admin),
            "purge" => (true, AuditKind.Purge),
            _ => (false, AuditKind.Request),
        };
        return ok;
    }
}
