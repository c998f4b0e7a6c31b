namespace Airlock.Core.Configuration;

/// <summary>
/// The validated, immutable configuration snapshot read from <c>airlock.yaml</c> (plus
/// <c>AIRLOCK_*</c> environment overrides). Everything the gateway does follows from it.
/// </summary>
public sealed record AirlockConfig
{
    /// <summary>Data-egress level: 1 cloud provider only, 2 private network only, 3 on-premises only.</summary>
    public required int Level { get; init; }

    /// <summary>Absolute path of the folder holding the SQLite database and generated secrets.</summary>
    public required string DataDir { get; init; }

    /// <summary>Listen addresses (Kestrel URLs). Overridden by <c>--urls</c>.</summary>
    public string Urls { get; init; } = "http://127.0.0.1:8080";

    /// <summary>Request limits applied before anything else runs.</summary>
    public LimitsConfig Limits { get; init; } = new();

    /// <summary>What is inspected and what happens to findings.</summary>
    public InspectionConfig Inspection { get; init; } = new();

    /// <summary>Claude Code endpoint controls (managed settings, hook policy).</summary>
    public ClaudeCodeConfig ClaudeCode { get; init; } = new();

    /// <summary>Upstreams by name, in file order.</summary>
    public required IReadOnlyList<UpstreamConfig> Upstreams { get; init; }

    /// <summary>Routes in file order; the first route whose glob matches the model wins.</summary>
    public required IReadOnlyList<RouteConfig> Routes { get; init; }

    /// <summary>Where the configuration came from (a file path, or a description of the quickstart defaults).</summary>
    public string Source { get; init; } = "";

    /// <summary>Finds an upstream by name (names are unique, validated at load).</summary>
    public UpstreamConfig? FindUpstream(string name)
    {
        foreach (var upstream in Upstreams)
        {
            if (string.Equals(upstream.Name, name, StringComparison.Ordinal))
            {
                return upstream;
            }
        }
        return null;
    }
}

/// <summary>Limits on what a client may send.</summary>
public sealed record LimitsConfig
{
    /// <summary>Largest accepted request body. Claude Code bodies are 50–500 KB; long sessions reach several MB.</summary>
    public long MaxBodyBytes { get; init; } = 32L * 1024 * 1024;

    /// <summary>Deepest JSON nesting accepted; deeper bodies are refused before any parsing beyond that depth.</summary>
    public int MaxJsonDepth { get; init; } = 128;
}

/// <summary>What protocol an upstream speaks.</summary>
public enum UpstreamKind
{
    /// <summary>The Anthropic Messages API or any Messages-compatible server (vLLM, Ollama ≥ 0.14, llama.cpp).</summary>
    Anthropic,

    /// <summary>A Messages-compatible server run by the organization (vLLM, Ollama, llama.cpp): same protocol as
    /// <see cref="Anthropic"/>, declared separately so egress levels can tell vendor from on-premises.</summary>
    Messages,

    /// <summary>A model built into the gateway that answers every request with a fixed, clearly labelled text.
    /// For trying Airlock without any credential; never for production.</summary>
    Simulated,
}

/// <summary>One model server the gateway may forward to.</summary>
public sealed record UpstreamConfig
{
    /// <summary>Unique name referenced by routes.</summary>
    public required string Name { get; init; }

    /// <summary>Protocol of the upstream.</summary>
    public required UpstreamKind Kind { get; init; }

    /// <summary>Base URL (scheme + host + optional path prefix); request paths such as <c>/v1/messages</c> are appended.</summary>
    public Uri? Url { get; init; }

    /// <summary>Name of the environment variable holding the gateway's own credential for this upstream.
    /// The value is read at startup and never written anywhere.</summary>
    public string? ApiKeyEnv { get; init; }

    /// <summary>TCP + TLS connect timeout.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait for the response headers. Long thinking turns take minutes before the first byte.</summary>
    public TimeSpan FirstByteTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Longest silence between two reads of a streamed answer (upstreams send <c>ping</c> events).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>Maps requested model names to an upstream.</summary>
public sealed record RouteConfig
{
    /// <summary>Glob patterns on the requested model name (<c>*</c> any run, <c>?</c> one character).</summary>
    public required IReadOnlyList<string> Models { get; init; }

    /// <summary>Name of the upstream that serves these models.</summary>
    public required string Upstream { get; init; }
}
