namespace Airlock.Testing;

/// <summary>How a <see cref="ScriptedUpstream"/> checks callers and what it answers by default.</summary>
public sealed record ScriptedUpstreamOptions
{
    /// <summary>
    /// The key a caller must send in <c>x-api-key</c>. Deliberately not shaped like a real Anthropic key,
    /// so it can appear in test output without tripping secret detectors.
    /// </summary>
    public string ExpectedApiKey { get; init; } = "scripted-upstream-key";

    /// <summary>Also accept <c>Authorization: Bearer &lt;ExpectedApiKey&gt;</c> (what ANTHROPIC_AUTH_TOKEN produces).</summary>
    public bool AcceptBearerToken { get; init; }

    /// <summary>Answer to <c>/v1/messages</c> when no responder chose one and the queue is empty.</summary>
    public UpstreamReply DefaultReply { get; init; } = UpstreamReply.Text("Hello from the scripted upstream.");

    /// <summary>Model ids listed by <c>GET /v1/models</c>.</summary>
    public IReadOnlyList<string> Models { get; init; } = ["claude-opus-5-5", "claude-sonnet-4-5-20250929", "claude-haiku-4-5-20251001"];

    /// <summary>Largest request body accepted (the real API allows 32 MB for Messages).</summary>
    public long MaxRequestBodyBytes { get; init; } = 32 * 1024 * 1024;

    /// <summary>Betas the scripted Bedrock accepts in <c>anthropic_beta</c>; null accepts any (Bedrock refuses unknown ones).</summary>
    public IReadOnlySet<string>? BedrockAcceptedBetas { get; init; }
}
