using System.Text.RegularExpressions;

namespace Airlock.Protocols.Aws.Bedrock;

/// <summary>
/// Where Bedrock Runtime requests go: <c>https://bedrock-runtime.{region}.amazonaws.com</c>, or an override such as a VPC
/// interface endpoint (<c>https://vpce-0123-abcd.bedrock-runtime.us-east-1.vpce.amazonaws.com</c>), a FIPS host, or a test
/// server. Requests are always signed for <see cref="Region"/> and service <c>bedrock</c>, whatever the host.
/// </summary>
public sealed partial class BedrockEndpoint
{
    /// <summary>The SigV4 service name of Bedrock Runtime.</summary>
    public const string SigningService = "bedrock";

    /// <summary>The body's <c>anthropic_version</c> value Bedrock requires for Anthropic models.</summary>
    public const string AnthropicVersion = "bedrock-2023-05-31";

    private static readonly UriCreationOptions s_verbatim = new() { DangerousDisablePathAndQueryCanonicalization = true };

    /// <summary>Creates the endpoint for <paramref name="region"/>, optionally at <paramref name="endpointOverride"/> (scheme, host, port, optional base path).</summary>
    public BedrockEndpoint(string region, Uri? endpointOverride = null)
    {
        if (!IsValidRegion(region))
        {
            throw new ArgumentException($"'{region}' is not an AWS region name (e.g. us-east-1)", nameof(region));
        }
        Region = region;
        if (endpointOverride is not null)
        {
            if (!endpointOverride.IsAbsoluteUri || (endpointOverride.Scheme != Uri.UriSchemeHttps && endpointOverride.Scheme != Uri.UriSchemeHttp))
            {
                throw new ArgumentException("the Bedrock endpoint override must be an absolute http(s) URL", nameof(endpointOverride));
            }
            if (!string.IsNullOrEmpty(endpointOverride.Query) || !string.IsNullOrEmpty(endpointOverride.Fragment) || !string.IsNullOrEmpty(endpointOverride.UserInfo))
            {
                throw new ArgumentException("the Bedrock endpoint override must not have a query, fragment or user info", nameof(endpointOverride));
            }
        }
        BaseUri = endpointOverride ?? new Uri($"https://bedrock-runtime.{region}.amazonaws.com");
    }

    /// <summary>Signing region.</summary>
    public string Region { get; }

    /// <summary>Scheme, host, port and base path requests go to.</summary>
    public Uri BaseUri { get; }

    /// <summary>True when the host is a Bedrock Runtime VPC interface endpoint name (<c>vpce-….bedrock-runtime.REGION.vpce.amazonaws.com</c>) of this region.</summary>
    public bool IsVpcEndpoint => VpcEndpointRegion(BaseUri.Host) == Region;

    /// <summary>
    /// The URL of <paramref name="operation"/> on <paramref name="modelId"/>: the id is one path segment with everything but
    /// <c>A–Z a–z 0–9 - . _ ~</c> percent-encoded (<c>:</c> → <c>%3A</c>, an ARN's <c>/</c> → <c>%2F</c>), as botocore sends it.
    /// The <see cref="Uri"/> is created with path canonicalization off, so the bytes on the wire are the bytes that were signed.
    /// </summary>
    /// <exception cref="ArgumentException">The model id is not a valid Bedrock model id.</exception>
    public Uri InvokeUri(string modelId, BedrockOperation operation)
    {
        var error = BedrockModelId.Validate(modelId);
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(modelId));
        }
        var action = operation switch
        {
            BedrockOperation.InvokeWithResponseStream => "invoke-with-response-stream",
            BedrockOperation.CountTokens => "count-tokens",
            _ => "invoke",
        };
        return new Uri($"{BaseUri.GetLeftPart(UriPartial.Authority)}{BasePath}/model/{EncodePathSegment(modelId)}/{action}", in s_verbatim);
    }

    /// <summary>Percent-encodes one path segment, keeping only RFC 3986 unreserved characters.</summary>
    public static string EncodePathSegment(string value) => Uri.EscapeDataString(value);

    /// <summary>True for names like <c>us-east-1</c>, <c>eu-central-2</c>, <c>us-gov-west-1</c>, <c>ap-southeast-5</c>.</summary>
    public static bool IsValidRegion(string? region) => region is not null && RegionPattern().IsMatch(region);

    /// <summary>The region in a Bedrock Runtime VPC endpoint host name (regional or zonal), or null when the host is not one.</summary>
    public static string? VpcEndpointRegion(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var match = VpcEndpointPattern().Match(host);
        return match.Success ? match.Groups["region"].Value : null;
    }

    private string BasePath => BaseUri.AbsolutePath.TrimEnd('/');

    [GeneratedRegex(@"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$", RegexOptions.CultureInvariant)]
    private static partial Regex RegionPattern();

    [GeneratedRegex(@"^vpce-[0-9a-z]+-[0-9a-z]+(-[a-z]{2}(-[a-z]+)+-[0-9]{1,2}[a-z])?\.bedrock-runtime\.(?<region>[a-z]{2}(-[a-z]+)+-[0-9]{1,2})\.vpce\.amazonaws\.com$",
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex VpcEndpointPattern();
}
