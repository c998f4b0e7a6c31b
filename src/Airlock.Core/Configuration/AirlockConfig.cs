namespace Airlock.Core.Configuration;

/// <summary>
/// The validated, immutable configuration snapshot read from <c>airlock.yaml</c> (plus
/// <c>AIRLOCK_*</c> environment overrides). Everything the gateway does follows from it.
/// </summary>
public sealed record AirlockConfig
{
    /// <summary>Data-egress level: 1 cloud provider only, 2 private network only, 3 on-premises only. 0 means none
    /// declared: only the quickstart produces it (a vendor API key and no airlock.yaml); posture fails it.</summary>
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

    /// <summary>Where the audit trail is kept and how it is protected (<c>audit:</c>).</summary>
    public AuditConfig Audit { get; init; } = new();

    /// <summary>The <c>siem:</c> section: where committed audit records are shipped.</summary>
    public SiemConfig Siem { get; init; } = new();

    /// <summary>Upstreams by name, in file order.</summary>
    public required IReadOnlyList<UpstreamConfig> Upstreams { get; init; }

    /// <summary>Routes in file order; the first route whose glob matches the model wins.</summary>
    public required IReadOnlyList<RouteConfig> Routes { get; init; }

    /// <summary>
    /// Cloud regions requests may be served in (<c>us-east-1</c>, <c>europe-west4</c>, <c>global</c>…). Empty: any.
    /// Bedrock and Vertex upstreams must use one of them, and a Vertex-door request naming another is refused.
    /// </summary>
    public IReadOnlyList<string> AllowedRegions { get; init; } = [];

    /// <summary>How upstreams are reached (<c>egress:</c>): declared proxy, loopback for tests.</summary>
    public EgressConfig Egress { get; init; } = new();

    /// <summary>Requested model (glob) → the model name routed and forwarded instead, applied before routes
    /// (<c>model_overrides:</c>): maps Claude Code's default names to what the organization runs.</summary>
    public IReadOnlyList<ModelMapping> ModelOverrides { get; init; } = [];

    /// <summary>Beta flag rules per upstream kind, overriding the shipped defaults (see <see cref="BetaRuleConfig"/>).</summary>
    public IReadOnlyList<BetaRuleConfig> Betas { get; init; } = [];

    /// <summary>Where the configuration came from (a file path, or a description of the quickstart defaults).</summary>
    public string Source { get; init; } = "";

    /// <summary>True for the quickstart defaults (<c>airlock serve</c> without an <c>airlock.yaml</c>): a trial, not a deployment.</summary>
    public bool IsQuickstart => Source == ConfigLoader.QuickstartSource;

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

    /// <summary>Amazon Bedrock Runtime (InvokeModel / InvokeModelWithResponseStream), SigV4 or a Bedrock API key.</summary>
    Bedrock,

    /// <summary>Google Vertex AI (rawPredict / streamRawPredict), OAuth 2.0 access tokens.</summary>
    Vertex,

    /// <summary>Any OpenAI chat-completions server run by the organization (<c>POST {url}/v1/chat/completions</c>):
    /// requests and answers are translated both ways; an on-premises kind like <see cref="Messages"/>.</summary>
    OpenAi,

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

    /// <summary>
    /// Base URL (scheme + host + optional path prefix); request paths such as <c>/v1/messages</c> are appended.
    /// For Bedrock and Vertex it is optional and overrides the regional endpoint (VPC interface endpoints,
    /// Private Service Connect).
    /// </summary>
    public Uri? Url { get; init; }

    /// <summary>Bedrock: the AWS region signed for and called. Vertex: the location (<c>us-east5</c>, <c>global</c>, <c>us</c>, <c>eu</c>).</summary>
    public string? Region { get; init; }

    /// <summary>Regions this upstream may serve in (Bedrock, Vertex). Empty: the deployment-wide <see cref="AirlockConfig.AllowedRegions"/>.
    /// A Bedrock model id outside them (another region's ARN, a cross-region profile) is refused.</summary>
    public IReadOnlyList<string> AllowedRegions { get; init; } = [];

    /// <summary>Circuit breaker of this upstream (<c>circuit_breaker:</c>).</summary>
    public CircuitBreakerConfig CircuitBreaker { get; init; } = new();

    /// <summary>Vertex: the Google Cloud project id.</summary>
    public string? Project { get; init; }

    /// <summary>
    /// Vertex: a service-account (or other Google credential) JSON file. Without it, application default
    /// credentials are used (<c>GOOGLE_APPLICATION_CREDENTIALS</c>, gcloud, metadata server).
    /// </summary>
    public string? CredentialsFile { get; init; }

    /// <summary>Requested model (glob) → the model id this upstream knows (Bedrock model id, inference profile or ARN; Vertex model).</summary>
    public IReadOnlyList<ModelMapping> ModelMap { get; init; } = [];

    /// <summary>Extra attempts on this upstream after a 429, a 5xx or a connect failure, before the first byte only.</summary>
    public int Retries { get; init; }

    /// <summary>Base delay between attempts (doubled each time, with full jitter).</summary>
    public TimeSpan RetryBackoff { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>The model id to ask this upstream for: the first matching mapping, else the requested name.</summary>
    public string MapModel(string requested)
    {
        foreach (var mapping in ModelMap)
        {
            if (Routing.Glob.IsMatch(mapping.Match, requested))
            {
                return mapping.Model;
            }
        }
        return requested;
    }

    /// <summary>Name of the environment variable holding the gateway's own credential for this upstream.
    /// The value is read at startup and never written anywhere.</summary>
    public string? ApiKeyEnv { get; init; }

    /// <summary>TCP + TLS connect timeout.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait for the response headers. Long thinking turns take minutes before the first byte.</summary>
    public TimeSpan FirstByteTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Longest silence between two reads of a streamed answer (upstreams send <c>ping</c> events).</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// <c>kind: openai</c>: the largest <c>max_tokens</c> sent upstream (a larger request is lowered to it). Claude Code
    /// asks for up to 128,000 output tokens, and a server whose model has a smaller context refuses such a request.
    /// Null: as the client asked.
    /// </summary>
    public int? MaxOutputTokens { get; init; }
}

/// <summary>Maps requested model names to an upstream.</summary>
public sealed record RouteConfig
{
    /// <summary>Glob patterns on the requested model name (<c>*</c> any run, <c>?</c> one character).</summary>
    public required IReadOnlyList<string> Models { get; init; }

    /// <summary>Name of the upstream that serves these models.</summary>
    public required string Upstream { get; init; }

    /// <summary>Upstreams tried in order when the previous one fails before answering (connect failure, 429, 5xx).</summary>
    public IReadOnlyList<string> Fallbacks { get; init; } = [];
}

/// <summary>One model mapping of an upstream.</summary>
public sealed record ModelMapping
{
    /// <summary>Glob on the requested model name.</summary>
    public required string Match { get; init; }

    /// <summary>The upstream's model id.</summary>
    public required string Model { get; init; }
}

/// <summary>
/// Which <c>anthropic-beta</c> flags an upstream kind accepts, and the body fields each flag comes with.
/// Header flag and body field travel together: a flag dropped takes its fields with it, and a field whose
/// flag cannot be served makes the request fail with an error naming the flag.
/// </summary>
public sealed record BetaRuleConfig
{
    /// <summary>The upstream kind the rule applies to.</summary>
    public required UpstreamKind Kind { get; init; }

    /// <summary>The flag (<c>context-management-2025-06-27</c>) or a glob (<c>*-2026-*</c>).</summary>
    public required string Beta { get; init; }

    /// <summary><c>pass</c> (forward), <c>drop</c> (remove the flag and its fields silently), <c>refuse</c> (fail the request naming the flag).</summary>
    public required string Action { get; init; }

    /// <summary>Top-level body fields that belong to the flag.</summary>
    public IReadOnlyList<string> Fields { get; init; } = [];
}

/// <summary>
/// When an upstream is taken out of rotation: after <see cref="ConsecutiveFailures"/> failures in a row, or when at
/// least <see cref="MinimumCalls"/> calls in <see cref="Window"/> failed at <see cref="FailureRatio"/> or more. It stays
/// open for <see cref="BreakDuration"/>, then lets one probe through (half-open): success closes it, failure reopens it.
/// </summary>
public sealed record CircuitBreakerConfig
{
    /// <summary>False: never open the circuit (every request tries the upstream).</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>Failures in a row that open the circuit.</summary>
    public int ConsecutiveFailures { get; init; } = 5;

    /// <summary>Failure ratio over the window that opens the circuit (0–1).</summary>
    public double FailureRatio { get; init; } = 0.5;

    /// <summary>Calls needed in the window before the ratio counts.</summary>
    public int MinimumCalls { get; init; } = 20;

    /// <summary>Sliding window for the ratio.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the circuit stays open before a probe is let through.</summary>
    public TimeSpan BreakDuration { get; init; } = TimeSpan.FromSeconds(30);
}
