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

    /// <summary>
    /// MCP servers written to <c>managed-mcp.json</c>. When that file is installed Claude Code uses exactly these
    /// servers and developers cannot add others; empty: no file is written.
    /// </summary>
    public IReadOnlyList<McpServerConfig> McpServers { get; init; } = [];

    /// <summary>Days Claude Code keeps local transcripts (<c>cleanupPeriodDays</c>).</summary>
    public int CleanupPeriodDays { get; init; } = 14;

    /// <summary>When the hook cannot decide (bad input, scanner failure), deny (true, default) or let the call through.</summary>
    public bool FailClosed { get; init; } = true;

    /// <summary>Lifetime of the short-lived keys behind <c>apiKeyHelper</c>.</summary>
    public TimeSpan SessionKeyLifetime { get; init; } = TimeSpan.FromHours(8);

    /// <summary>Largest part of a file the hook scans for secrets before a Read.</summary>
    public long MaxScanBytes { get; init; } = 8L * 1024 * 1024;
}

/// <summary>One entry of <c>claude_code.mcp_servers</c>: a remote server (<c>http</c>, <c>sse</c>) or a local command (<c>stdio</c>).</summary>
/// <param name="Name">Server name; Claude Code names its tools <c>mcp__NAME__tool</c>.</param>
/// <param name="Transport"><c>stdio</c>, <c>http</c> or <c>sse</c>.</param>
/// <param name="Url">Endpoint of a remote server.</param>
/// <param name="Command">Program of a local server.</param>
/// <param name="Args">Arguments of a local server.</param>
/// <param name="Env">Environment of a local server; values should be <c>${VAR}</c> references, never literal secrets.</param>
/// <param name="Headers">HTTP headers of a remote server; values should be <c>${VAR}</c> references, never literal secrets.</param>
public sealed record McpServerConfig(
    string Name,
    string Transport,
    Uri? Url,
    string? Command,
    IReadOnlyList<string> Args,
    IReadOnlyDictionary<string, string> Env,
    IReadOnlyDictionary<string, string> Headers);
