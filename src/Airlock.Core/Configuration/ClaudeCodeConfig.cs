namespace Airlock.Core.Configuration;

/// <summary>
/// The <c>claude_code:</c> section: what <c>airlock claude-code setup</c> writes into managed settings and
/// what the gateway's hook policy tells <c>airlock-hook</c> on every developer machine.
/// </summary>
public sealed record ClaudeCodeConfig
{
    /// <summary>Secret-bearing file patterns added to the built-in list (file names such as <c>*.secret</c>, or path
    /// suffixes such as <c>config/prod/*.yaml</c>).</summary>
    public IReadOnlyList<string> DenyFiles { get; init; } = [];

    /// <summary>MCP server names developers may use (<c>allowedMcpServers</c>); empty: no allowlist is written.</summary>
    public IReadOnlyList<string> AllowedMcpServers { get; init; } = [];

    /// <summary>Days Claude Code keeps local transcripts (<c>cleanupPeriodDays</c>).</summary>
    public int CleanupPeriodDays { get; init; } = 14;

    /// <summary>When the hook cannot decide (bad input, scanner failure), deny (true, default) or let the call through.</summary>
    public bool FailClosed { get; init; } = true;

    /// <summary>Lifetime of the short-lived keys behind <c>apiKeyHelper</c>.</summary>
    public TimeSpan SessionKeyLifetime { get; init; } = TimeSpan.FromHours(8);

    /// <summary>Largest part of a file the hook scans for secrets before a Read.</summary>
    public long MaxScanBytes { get; init; } = 8L * 1024 * 1024;
}
