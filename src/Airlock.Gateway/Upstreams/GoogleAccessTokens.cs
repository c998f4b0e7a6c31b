using System.Text.Json;
using Airlock.Core.Configuration;
using Google.Apis.Auth.OAuth2;
using Google.Apis.Auth.OAuth2.Responses;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// OAuth 2.0 access tokens for Vertex AI through Google.Apis.Auth: a credential file (service account, or any
/// type the library loads) when configured, else application default credentials. Scoped to
/// <c>cloud-platform</c>; the library caches each token and refreshes it before it expires. A token or a key
/// never appears in an exception message this class throws.
/// </summary>
internal sealed class GoogleAccessTokens(UpstreamConfig config, Func<string, string?> getEnvironment)
{
    private const string Scope = "https://www.googleapis.com/auth/cloud-platform";

    private readonly Lock _gate = new();
    private Task<ITokenAccess>? _loading;

    /// <summary>A current access token.</summary>
    /// <exception cref="UpstreamCredentialException">No credential, or the token endpoint refused or failed.</exception>
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

    private async Task<ITokenAccess> LoadAsync()
    {
        {
            var file = config.CredentialsFile ?? getEnvironment("GOOGLE_APPLICATION_CREDENTIALS");
            GoogleCredential credential;
            try
            {
                if (!string.IsNullOrEmpty(file))
                {
                    var type = CredentialType(file);
                    credential = await CredentialFactory.FromFileAsync(file, type, CancellationToken.None).ConfigureAwait(false);
                }
                else
                {
                    credential = await GoogleCredential.GetApplicationDefaultAsync(CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or JsonException or ArgumentException or UnauthorizedAccessException)
            {
                // Library messages may quote the file; the path is configuration, the content is never quoted.
                throw new UpstreamCredentialException(string.IsNullOrEmpty(file)
                    ? "no Google application default credentials found (set credentials_file or GOOGLE_APPLICATION_CREDENTIALS)"
                    : $"the Google credential file {file} cannot be used ({ex.GetType().Name})", ex);
            }
            return credential.CreateScoped(Scope);
        }
    }

    /// <summary>The <c>type</c> field of a Google credential JSON file (<c>service_account</c>, <c>authorized_user</c>, …).</summary>
    private static string CredentialType(string file)
    {
        using var stream = File.OpenRead(file);
        using var document = JsonDocument.Parse(stream);
        return document.RootElement.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
            ? type.GetString()!
            : throw new InvalidOperationException("credential file has no type");
    }
}
