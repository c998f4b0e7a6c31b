namespace Airlock.Testing;

/// <summary>One non-interactive run of the real Claude Code CLI: <c>claude -p "&lt;prompt&gt;" --output-format json</c>.</summary>
public sealed record ClaudeCodeRunOptions
{
    public required string Prompt { get; init; }

    /// <summary>Becomes <c>ANTHROPIC_BASE_URL</c> (no trailing <c>/v1</c>: the CLI appends <c>/v1/messages</c>).</summary>
    public required string BaseUrl { get; init; }

    /// <summary>Becomes <c>ANTHROPIC_API_KEY</c>; the CLI sends it as <c>x-api-key</c>.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Becomes <c>ANTHROPIC_AUTH_TOKEN</c>; the CLI sends it as <c>Authorization: Bearer</c>.</summary>
    public string? AuthToken { get; init; }

    /// <summary>Where the CLI runs (its project directory). Null: a fresh empty temporary folder, deleted afterwards.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>More environment variables (set after the defaults, so they can override them).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Values for <c>--allowedTools</c> (e.g. <c>Read</c>, <c>Bash(git *)</c>); empty: flag not passed.</summary>
    public IReadOnlyList<string> AllowedTools { get; init; } = [];

    /// <summary>Value for <c>--settings</c>: a settings file path or a JSON string.</summary>
    public string? Settings { get; init; }

    /// <summary>Value for <c>--model</c>.</summary>
    public string? Model { get; init; }

    /// <summary>Any other arguments, appended last.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary><c>--output-format</c>: json (default, parsed into the result), text or stream-json.</summary>
    public string OutputFormat { get; init; } = "json";

    /// <summary>The process tree is killed after this long.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>
    /// The HOME the CLI sees. Null: a fresh temporary folder, deleted afterwards, so no user or machine
    /// configuration leaks in and no session files leak out. Set it to keep sessions across runs (<c>--resume</c>).
    /// </summary>
    public string? Home { get; init; }
}
