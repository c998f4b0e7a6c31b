using Airlock.Core.Audit;

namespace Airlock.Gateway.Admin;

/// <summary>
/// How admin-kind records say what was done: <see cref="AuditRecord.Operation"/> is the action (<c>audit.list</c>,
/// <c>siem.gap</c>, <c>keys.create</c>, …) and <see cref="AuditRecord.Detail"/> its parameters (the HTTP request line
/// with the normalized filter, or the gap's counts), hashed by chain encoding version 3. Admin records written before
/// schema 5 carried the same in the tool-event columns (<c>tool.hook_event</c> <c>admin</c>, <c>tool.command</c>); they
/// keep them, and their hash. <c>airlock audit list</c> shows either in its DETAIL column.
/// </summary>
public static class AdminRecords
{
    /// <summary>Value of <see cref="ToolEventDetails.HookEvent"/> on admin records written before schema 5.</summary>
    public const string HookEvent = "admin";

    /// <summary>Longest detail kept (the same bound as a tool event's command).</summary>
    public const int MaxDetailLength = ToolEventDetails.MaxCommandLength;

    /// <summary><paramref name="parameters"/> cut to <see cref="MaxDetailLength"/> (a cut one ends with <c>…</c>).</summary>
    public static string? Detail(string? parameters)
    {
        var (detail, truncated) = ToolEventDetails.LimitCommand(parameters);
        return truncated ? detail + "\u2026" : detail;
    }
}
