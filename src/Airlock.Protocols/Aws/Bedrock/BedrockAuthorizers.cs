using System.Net.Http.Headers;
using Airlock.Protocols.Aws.Signing;

namespace Airlock.Protocols.Aws.Bedrock;

/// <summary>Adds Bedrock credentials to an outgoing request (SigV4 or an API key).</summary>
public interface IBedrockAuthorizer
{
    /// <summary>
    /// Authorizes <paramref name="request"/>, whose body is <paramref name="body"/> (the exact bytes that will be sent).
    /// Call it last, after every header is set: SigV4 signs the headers present at that moment.
    /// </summary>
    /// <exception cref="AwsCredentialsUnavailableException">No credentials (SigV4).</exception>
    ValueTask AuthorizeAsync(HttpRequestMessage request, ReadOnlyMemory<byte> body, CancellationToken cancellationToken);
}

/// <summary>
/// SigV4 for service <c>bedrock</c>: sets <c>X-Amz-Date</c>, <c>X-Amz-Security-Token</c> (temporary credentials) and
/// <c>Authorization</c>. Signs <c>host</c>, <c>content-type</c>, <c>x-amz-*</c> and <c>x-amzn-*</c> headers; not
/// <c>user-agent</c>, <c>accept</c> or hop-by-hop headers, which proxies may change. The path is signed exactly as the
/// <see cref="Uri"/> will send it (see <see cref="BedrockEndpoint.InvokeUri"/>).
/// </summary>
public sealed class SigV4BedrockAuthorizer : IBedrockAuthorizer
{
    private readonly IAwsCredentialProvider _credentials;
    private readonly string _region;
    private readonly TimeProvider _time;
    private readonly SigningKeyCache _keys = new();

    public SigV4BedrockAuthorizer(IAwsCredentialProvider credentials, string region, TimeProvider? time = null)
    {
        _credentials = credentials ?? throw new ArgumentNullException(nameof(credentials));
        if (!BedrockEndpoint.IsValidRegion(region))
        {
            throw new ArgumentException($"'{region}' is not an AWS region name", nameof(region));
        }
        _region = region;
        _time = time ?? TimeProvider.System;
    }

    public async ValueTask AuthorizeAsync(HttpRequestMessage request, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var credentials = await _credentials.GetCredentialsAsync(cancellationToken).ConfigureAwait(false);
        Sign(request, body.Span, credentials, _time.GetUtcNow(), _keys, _region);
    }

    /// <summary>Signs <paramref name="request"/> in place (the synchronous core, for tests and benchmarks).</summary>
    public static SigV4Signature Sign(HttpRequestMessage request, ReadOnlySpan<byte> body, AwsCredentials credentials, DateTimeOffset now,
        SigningKeyCache? keys, string region)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(credentials);
        var uri = request.RequestUri ?? throw new ArgumentException("the request has no URI", nameof(request));
        request.Headers.Remove("Authorization");
        request.Headers.Remove("X-Amz-Date");
        request.Headers.Remove("X-Amz-Security-Token");
        request.Headers.TryAddWithoutValidation("X-Amz-Date", SigV4.FormatAmzDate(now));
        if (credentials.SessionToken is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Amz-Security-Token", credentials.SessionToken);
        }
        var headers = new List<KeyValuePair<string, string>>(8)
        {
            new("host", request.Headers.Host ?? (uri.IsDefaultPort ? uri.IdnHost : $"{uri.IdnHost}:{uri.Port}")),
        };
        foreach (var (name, values) in request.Headers.NonValidated)
        {
            if (name.StartsWith("x-amz", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var value in values)
                {
                    headers.Add(new(name, value));
                }
            }
        }
        if (request.Content?.Headers.ContentType is MediaTypeHeaderValue contentType)
        {
            headers.Add(new("content-type", contentType.ToString()));
        }
        var signature = SigV4.Sign(new SigV4Request(request.Method.Method, uri.AbsolutePath, uri.Query, headers, SigV4.HashPayload(body)),
            credentials, region, BedrockEndpoint.SigningService, now, keys);
        request.Headers.TryAddWithoutValidation("Authorization", signature.Authorization);
        return signature;
    }
}

/// <summary>
/// A Bedrock API key: <c>Authorization: Bearer &lt;key&gt;</c> and no SigV4 (AWS user guide, "Amazon Bedrock API keys").
/// Short-term keys (<c>bedrock-api-key-…</c>, at most 12 hours) must be replaced by the operator before they expire.
/// </summary>
public sealed class BearerTokenBedrockAuthorizer : IBedrockAuthorizer
{
    /// <summary>The environment variable the AWS SDKs and Claude Code read the key from.</summary>
    public const string EnvironmentVariable = "AWS_BEARER_TOKEN_BEDROCK";

    private readonly string _token;

    public BearerTokenBedrockAuthorizer(string apiKey)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(apiKey);
        if (apiKey.AsSpan().IndexOfAny('\r', '\n') >= 0)
        {
            throw new ArgumentException("the Bedrock API key must be one line", nameof(apiKey));
        }
        _token = apiKey.Trim();
    }

    /// <summary>The key from <c>AWS_BEARER_TOKEN_BEDROCK</c>, or null when unset.</summary>
    public static BearerTokenBedrockAuthorizer? FromEnvironment()
    {
        var value = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(value) ? null : new BearerTokenBedrockAuthorizer(value);
    }

    public ValueTask AuthorizeAsync(HttpRequestMessage request, ReadOnlyMemory<byte> body, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Headers.Remove("Authorization");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + _token);
        return ValueTask.CompletedTask;
    }

    /// <summary>Never shows the key.</summary>
    public override string ToString() => "BearerTokenBedrockAuthorizer(…)";
}
