using System.Text.Json;
using Airlock.Core.Configuration;
using Airlock.Core.Egress;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Responses;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// OAuth 2.0 access tokens for Vertex AI through Google.Apis.Auth, scoped to <c>cloud-platform</c>; the library caches
/// each token and refreshes it before it expires. The credential file is found as <see cref="GoogleTokenSource"/>
/// says, and the library fetches tokens through <see cref="GuardedGoogleHttpClientFactory"/>: the upstream handler's
/// settings, with a connect guard that allows only that file's token endpoints under the level's address rule. A
/// refused connection surfaces as <see cref="EgressRefusedException"/>, like an upstream's. A token or a key never
/// appears in an exception message this class throws.
/// </summary>
/// <remarks>
/// Without a credential file tokens come from the metadata server. At level 2 Airlock builds that credential itself
/// and the library fetches through a guard allowing only the metadata host under
/// <see cref="EgressRule.ForMetadataCredentials"/> (link-local metadata cannot be routed off the host's link); at levels
/// 0 and 1 application default credentials are used as before, and the metadata server is dialed by the library itself.
/// </remarks>
internal sealed class GoogleAccessTokens(AirlockConfig deployment, UpstreamConfig config, Func<string, string?> getEnvironment, IHostResolver resolver)
{
    private const string Scope = "https://www.googleapis.com/auth/cloud-platform";

    private readonly Lock _gate = new();
    private Task<ITokenAccess>? _loading;

    /// <summary>A current access token.</summary>
    /// <exception cref="UpstreamCredentialException">No credential, or the token endpoint refused or failed.</exception>
    /// <exception cref="EgressRefusedException">The level does not allow a connection to the token endpoint.</exception>
    public async ValueTask<string> GetAsync(CancellationToken cancellationToken)
    {
        Task<ITokenAccess> loading;
        lock (_gate)
        {
            // A failed load is retried on the next request: credentials may appear (a mounted secret, a metadata server).
            if (_loading is null || _loading.IsFaulted || _loading.IsCanceled)
            {
                _loading = LoadAsync();
            }
            loading = _loading;
        }
        var credential = await loading.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await credential.GetAccessTokenForRequestAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (Refusal(ex) is { } refused)
        {
            throw new EgressRefusedException(refused.Upstream, "OAuth token endpoint: " + refused.Reason);
        }
        catch (TokenResponseException ex)
        {
            // The OAuth error code (invalid_grant, …) says what is wrong without echoing anything secret.
            throw new UpstreamCredentialException($"the Google token endpoint refused the credential ({ex.Error?.Error ?? "error"})", ex);
        }
        catch (HttpRequestException ex)
        {
            throw new UpstreamCredentialException($"the Google token endpoint is unreachable ({ex.HttpRequestError})", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new UpstreamCredentialException("no Google access token could be obtained", ex);
        }
    }

    /// <summary>
    /// Forgets the credential and its cached token: Vertex answered 401 to a token the library still holds valid (revoked,
    /// or its key disabled), and the library would otherwise send it again until it expires, up to an hour. The next
    /// <see cref="GetAsync"/> loads the credential afresh and fetches a new token.
    /// </summary>
    public void Invalidate()
    {
        lock (_gate)
        {
            _loading = null;
        }
    }

    /// <summary>The guard's refusal anywhere in <paramref name="ex"/>'s chain (the library may wrap what the handler threw).</summary>
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

    private async Task<ITokenAccess> LoadAsync()
    {
        var source = GoogleTokenSource.For(config, getEnvironment);
        if (source.CredentialFile is null)
        {
            if (deployment.Level >= 2)
            {
                return MetadataServerCredential(source);
            }
            try
            {
                var adc = await GoogleCredential.GetApplicationDefaultAsync(CancellationToken.None).ConfigureAwait(false);
                return adc.CreateScoped(Scope);
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or JsonException or ArgumentException or UnauthorizedAccessException)
            {
                throw new UpstreamCredentialException("no Google application default credentials found (set credentials_file or GOOGLE_APPLICATION_CREDENTIALS)", ex);
            }
        }
        if (source.Problem is { } problem)
        {
            throw new UpstreamCredentialException(problem);
        }
        GoogleCredential credential;
        try
        {
            credential = await CredentialFactory.FromFileAsync(source.CredentialFile, source.CredentialType, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or JsonException or ArgumentException or UnauthorizedAccessException)
        {
            // Library messages may quote the file; the path is configuration, the content is never quoted.
            throw new UpstreamCredentialException($"the Google credential file {source.CredentialFile} cannot be used ({ex.GetType().Name})", ex);
        }
        var guard = new EgressConnectGuard(deployment, config.Name, source.Endpoints,
            $"the credential's token endpoint{(source.Endpoints.Count > 1 ? "s" : "")} ({string.Join(", ", source.Endpoints.Select(e => e.IdnHost))})", resolver);
        return credential.CreateScoped(Scope).CreateWithHttpClientFactory(new GuardedGoogleHttpClientFactory(config, guard, deployment.Egress.Proxy));
    }

    /// <summary>
    /// Level 2 without a credential file: the metadata server's tokens (the instance's or workload's service account),
    /// fetched through a guard that allows only the metadata host under <see cref="EgressRule.ForMetadataCredentials"/>
    /// (169.254.169.254 or loopback; any other link-local or public address is refused), never through the proxy.
    /// </summary>
    private GoogleCredential MetadataServerCredential(GoogleTokenSource source)
    {
        if (source.Problem is { } problem || source.MetadataTokenUri is not { } tokenUri)
        {
            throw new UpstreamCredentialException(source.Problem ?? "no Google credential source");
        }
        var guard = new EgressConnectGuard(deployment, config.Name, [tokenUri], $"the metadata server ({tokenUri.IdnHost})", resolver,
            EgressRule.ForMetadataCredentials(deployment));
        var compute = new ComputeCredential(new ComputeCredential.Initializer(tokenUri.ToString())
        {
            HttpClientFactory = new GuardedGoogleHttpClientFactory(config, guard, null),
        });
        return GoogleCredential.FromComputeCredential(compute).CreateScoped(Scope);
    }
}

/// <summary>
/// Google.Apis.Auth's HTTP client factory, built on the same handler as an upstream's (no environment proxy, no
/// redirects, no cookies) whose connect callback is <paramref name="guard"/>: the token fetch obeys the level too.
/// </summary>
internal sealed class GuardedGoogleHttpClientFactory(UpstreamConfig upstream, EgressConnectGuard guard, Uri? proxy) : Google.Apis.Http.HttpClientFactory
{
    protected override HttpMessageHandler CreateHandler(Google.Apis.Http.CreateHttpClientArgs args) => UpstreamClient.CreateHandler(upstream, guard, proxy);
}
