using Airlock.Core.Configuration;

namespace Airlock.Core.Egress;

/// <summary>Where each upstream kind connects, and what kind of destination that is.</summary>
public static class UpstreamEndpoints
{
    /// <summary>
    /// The base URL the gateway dials for <paramref name="upstream"/>: its <c>url</c>, else the provider's regional
    /// endpoint (Bedrock <c>bedrock-runtime.REGION.amazonaws.com</c>, Vertex <c>REGION-aiplatform.googleapis.com</c>).
    /// Null for the in-process simulated model, which never connects.
    /// </summary>
    public static Uri? EffectiveUrl(UpstreamConfig upstream)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        if (upstream.Url is { } url)
        {
            return url;
        }
        return upstream.Kind switch
        {
            UpstreamKind.Bedrock when upstream.Region is { } region => new Uri($"https://bedrock-runtime.{region}.amazonaws.com"),
            UpstreamKind.Vertex when upstream.Region is { } region => new Uri(region switch
            {
                "global" => "https://aiplatform.googleapis.com",
                "us" or "eu" => $"https://aiplatform.{region}.rep.googleapis.com",
                _ => $"https://{region}-aiplatform.googleapis.com",
            }),
            _ => null,
        };
    }

    /// <summary>True for the model vendor's own API hosts (<c>api.anthropic.com</c> and other <c>anthropic.com</c> names).</summary>
    public static bool IsVendorHost(string host) =>
        host.Equals("anthropic.com", StringComparison.OrdinalIgnoreCase)
        || host.EndsWith(".anthropic.com", StringComparison.OrdinalIgnoreCase)
        || host.EndsWith(".anthropic.com.", StringComparison.OrdinalIgnoreCase);

    /// <summary>Kinds run by a cloud provider or the vendor (credentials, vendor terms); every other kind is on-premises.</summary>
    public static bool IsCloudKind(UpstreamKind kind) => kind is UpstreamKind.Anthropic or UpstreamKind.Bedrock or UpstreamKind.Vertex;

    /// <summary>Kinds that hold a cloud credential provider (AWS SigV4 chain, Google OAuth).</summary>
    public static bool HasCloudCredentials(UpstreamKind kind) => kind is UpstreamKind.Bedrock or UpstreamKind.Vertex;
}
