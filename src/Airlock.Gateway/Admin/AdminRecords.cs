using Airlock.Core.Audit;

namespace Airlock.Gateway.Admin;

/// <summary>
/// How admin-kind records say what was done. The record schema has no free-form detail column, so an admin action
/// reuses the tool-event details: <c>tool.hook_event</c> is <c>admin</c>, <c>tool.tool_name</c> the action
/// (<c>audit.list</c>, <c>siem.gap</c>, …) and <c>tool.command</c> its parameters (the HTTP request line with the
/// normalized filter, or the gap's counts). <c>airlock audit list</c> shows them in its DETAIL column.
/// </summary>
public static class AdminRecords
{
    /// <summary>Value of <see cref="ToolEventDetails.HookEvent"/> on admin records written by the gateway.</summary>
    public const string HookEvent = "admin";

    /// <summary>Details naming <paramref name="action"/> and its parameters (cut to the command limit).</summary>
    public static ToolEventDetails Details(string action, string? parameters)
    {
        var (command, truncated) = ToolEventDetails.LimitCommand(parameters);
        return new ToolEventDetails { HookEvent = HookEvent, ToolName = action, Command = command, CommandTruncated = truncated };
    }
}
