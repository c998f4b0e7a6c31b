using System.Text.Json;
using Airlock.Core.Configuration;
using Airlock.Core.Egress;
using Airlock.Protocols.Aws.Signing;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// AWS credentials for a Bedrock upstream at level 2, fetched by Airlock itself from the source
/// <see cref="AwsCredentialSource"/> found, through handlers whose connect guard allows only that source's endpoints
/// under the level's address rule (instance and container metadata: <see cref="EgressRule.ForMetadataCredentials"/>).
/// The egress evaluator checked the same endpoints at startup, so the addresses checked are the addresses dialed.
/// </summary>
/// <remarks>
/// Why not the AWS SDK at level 2: its STS and SSO clients could take an HTTP client factory, but its container and
/// instance-metadata fetches use the SDK's own HTTP client with no hook, and the STS endpoint the SDK would pick is
/// decided inside it. Fetching here makes one component decide the endpoint for both the check and the connection.
/// Credentials are cached and refreshed five minutes before they expire, one fetch at a time; a failed refresh keeps
/// serving credentials that have not yet expired. A refusal by the guard surfaces as
/// <see cref="EgressRefusedException"/> (a door-shaped 403 and an audit record), any other failure as
/// <see cref="AwsCredentialsUnavailableException"/> (a 502). No key or token appears in a message.
/// </remarks>
internal sealed class GuardedAwsCredentialProvider : IAwsCredentialProvider
{
    private static readonly TimeSpan RefreshAhead = TimeSpan.FromMinutes(5);

    private readonly string _upstream;
    private readonly AwsCredentialSource _source;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, HttpMessageInvoker> _clients = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private Task<AwsCredentials>? _fetching;
    private AwsCredentials? _current;
    private SsoToken? _ssoToken;

    public GuardedAwsCredentialProvider(AirlockConfig deployment, UpstreamConfig upstream, AwsCredentialSource source, IHostResolver resolver, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(upstream);
        _upstream = upstream.Name;
        _source = source ?? throw new ArgumentNullException(nameof(source));
        _time = time;
        foreach (var endpoint in source.Endpoints)
        {
            var guard = new EgressConnectGuard(deployment, upstream.Name, [endpoint.Uri], $"the AWS {endpoint.Role} endpoint ({endpoint.Uri.IdnHost})", resolver,
                endpoint.HostLocal ? EgressRule.ForMetadataCredentials(deployment) : EgressRule.For(deployment));
            // Host-local metadata is never reached through the declared proxy; STS and SSO are, like an upstream.
            var handler = UpstreamClient.CreateHandler(upstream, guard, endpoint.HostLocal ? null : deployment.Egress.Proxy);
            _clients[endpoint.Role] = new HttpMessageInvoker(handler, disposeHandler: true);
        }
    }

    /// <inheritdoc/>
    public async ValueTask<AwsCredentials> GetCredentialsAsync(CancellationToken cancellationToken)
    {
        if (_source.Problem is { } problem)
        {
            throw new AwsCredentialsUnavailableException(problem);
        }
        if (_source.StaticKeys is { } keys)
        {
            return _current ??= new AwsCredentials(keys.AccessKeyId, keys.SecretAccessKey, keys.SessionToken);
        }
        var now = _time.GetUtcNow();
        var current = _current;
        if (current is not null && (current.Expiration is not { } fresh || fresh - RefreshAhead > now))
        {
            return current;
        }
        Task<AwsCredentials> fetching;
        lock (_gate)
        {
            if (_fetching is null || _fetching.IsCompleted)
            {
                _fetching = FetchAsync();
            }
            fetching = _fetching;
        }
        try
        {
            var next = await fetching.WaitAsync(cancellationToken).ConfigureAwait(false);
            _current = next;
            return next;
        }
        catch (AwsCredentialsUnavailableException) when (current?.Expiration is { } expires && expires > _time.GetUtcNow())
        {
            // The refresh failed ahead of expiry: the credentials in hand are still good.
            return current;
        }
        catch (AwsCredentialsUnavailableException ex) when (Refusal(ex) is { } refused)
        {
            throw new EgressRefusedException(refused.Upstream, $"AWS credential endpoint: {refused.Reason}");
        }
    }

    private async Task<AwsCredentials> FetchAsync()
    {
        // Not the caller's token: one request giving up must not fail the fetch others wait on. The handler's connect
        // timeout and the upstream's first-byte timeout on the caller's side bound the wait.
        var ct = CancellationToken.None;
        var credentials = _source.Kind switch
        {
            AwsCredentialKind.WebIdentity => await WebIdentityAsync(_source.WebIdentity!, ct).ConfigureAwait(false),
            AwsCredentialKind.Sso => await SsoAsync(_source.Sso!, ct).ConfigureAwait(false),
            AwsCredentialKind.Container => await ContainerAsync(_source.Container!, ct).ConfigureAwait(false),
            AwsCredentialKind.InstanceMetadata => await AwsCredentialFetch.InstanceMetadataAsync(_clients["instance metadata"], _source.Endpoints[0].Uri, ct).ConfigureAwait(false),
            _ => throw new AwsCredentialsUnavailableException($"no AWS credential source ({_source.Description})"),
        };
        if (credentials.Expiration is { } expires && expires <= _time.GetUtcNow())
        {
            throw new AwsCredentialsUnavailableException($"the AWS credentials from {_source.Kind switch
            {
                AwsCredentialKind.WebIdentity => "STS",
                AwsCredentialKind.Sso => "the SSO portal",
                AwsCredentialKind.Container => "container credentials",
                _ => "instance metadata",
            }} have expired (they expired at {expires:yyyy-MM-ddTHH:mm:ssZ})");
        }
        return credentials;
    }

    private async Task<AwsCredentials> WebIdentityAsync(AwsWebIdentity identity, CancellationToken ct)
    {
        // Read at each fetch: the orchestrator rotates the projected token file.
        var token = (await ReadFileAsync(identity.TokenFile, "web identity token file", ct).ConfigureAwait(false)).Trim();
        return token.Length == 0
            ? throw new AwsCredentialsUnavailableException($"the web identity token file {identity.TokenFile} is empty")
            : await AwsCredentialFetch.AssumeRoleWithWebIdentityAsync(_clients["STS"], identity.StsEndpoint, identity.RoleArn, identity.SessionName, token, ct).ConfigureAwait(false);
    }

    private async Task<AwsCredentials> ContainerAsync(AwsContainerCredentials container, CancellationToken ct)
    {
        var authorization = container.AuthorizationTokenFile is { } file
            ? (await ReadFileAsync(file, "container authorization token file", ct).ConfigureAwait(false)).Trim()
            : container.AuthorizationToken;
        return await AwsCredentialFetch.ContainerAsync(_clients["container credentials"], container.Uri, authorization, ct).ConfigureAwait(false);
    }

    private async Task<AwsCredentials> SsoAsync(AwsSsoProfile sso, CancellationToken ct)
    {
        var token = _ssoToken ?? await ReadSsoCacheAsync(sso, ct).ConfigureAwait(false);
        if (token.ExpiresAt <= _time.GetUtcNow().AddMinutes(1))
        {
            if (sso.OidcEndpoint is not { } oidc || token.RefreshToken is null || _ssoClient is not { } client)
            {
                throw new AwsCredentialsUnavailableException($"the cached SSO token expired at {token.ExpiresAt:yyyy-MM-ddTHH:mm:ssZ}: run 'aws sso login' for the gateway's profile");
            }
            // Kept in memory only: the cache file stays as 'aws sso login' wrote it.
            token = await AwsCredentialFetch.RefreshSsoTokenAsync(_clients["SSO OIDC token refresh"], oidc, client.Id, client.Secret, token.RefreshToken, _time, ct).ConfigureAwait(false);
        }
        _ssoToken = token;
        return await AwsCredentialFetch.SsoRoleCredentialsAsync(_clients["SSO portal"], sso.PortalEndpoint, token.AccessToken, sso.AccountId, sso.RoleName, ct).ConfigureAwait(false);
    }

    private (string Id, string Secret)? _ssoClient;

    /// <summary>The token <c>aws sso login</c> cached, with the client registration that can refresh it.</summary>
    private async Task<SsoToken> ReadSsoCacheAsync(AwsSsoProfile sso, CancellationToken ct)
    {
        var text = await ReadFileAsync(sso.TokenCacheFile, "SSO token cache (run 'aws sso login')", ct).ConfigureAwait(false);
        try
        {
            using var document = JsonDocument.Parse(text);
            var root = document.RootElement;
            string? Text(string name) => root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            if (Text("accessToken") is not { Length: > 0 } accessToken || Text("expiresAt") is not { } expiresAt
                || !DateTimeOffset.TryParse(expiresAt, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var expires))
            {
                throw new AwsCredentialsUnavailableException($"the SSO token cache {sso.TokenCacheFile} holds no access token with an expiry: run 'aws sso login'");
            }
            if (Text("clientId") is { Length: > 0 } id && Text("clientSecret") is { Length: > 0 } secret)
            {
                _ssoClient = (id, secret);
            }
            return new SsoToken(accessToken, expires, Text("refreshToken"));
        }
        catch (JsonException ex)
        {
            throw new AwsCredentialsUnavailableException($"the SSO token cache {sso.TokenCacheFile} is not JSON", ex);
        }
    }

    private static async Task<string> ReadFileAsync(string path, string what, CancellationToken ct)
    {
        try
        {
            return await File.ReadAllTextAsync(path, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AwsCredentialsUnavailableException($"the {what} {path} cannot be read ({ex.GetType().Name})", ex);
        }
    }

    /// <summary>The connect guard's refusal anywhere in <paramref name="ex"/>'s chain.</summary>
    private static EgressRefusedException? Refusal(Exception? ex)
    {
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is EgressRefusedException refused)
            {
                return refused;
            }
        }
        return null;
    }

    /// <inheritdoc/>
    public override string ToString() => $"GuardedAwsCredentialProvider({_upstream}: {_source.Kind})";
}
