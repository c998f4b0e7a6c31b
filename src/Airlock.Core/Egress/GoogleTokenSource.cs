using System.Text.Json;
using Airlock.Core.Configuration;

namespace Airlock.Core.Egress;

/// <summary>
/// Where a Vertex upstream's OAuth access tokens come from: the Google credential file it uses and the token endpoints
/// that file makes the gateway dial. The egress evaluator checks these hosts like an upstream's, and the gateway gives
/// the Google auth library a handler whose connect guard allows exactly these hosts.
/// </summary>
/// <remarks>
/// The file is found the way application default credentials find it
/// (https://cloud.google.com/docs/authentication/application-default-credentials): the upstream's
/// <c>credentials_file</c>, else <c>GOOGLE_APPLICATION_CREDENTIALS</c>, else gcloud's well-known file
/// (<c>$CLOUDSDK_CONFIG/application_default_credentials.json</c>, else <c>~/.config/gcloud/…</c>). Without a file,
/// the library would ask the metadata server (169.254.169.254), a link-local address no level's connect rule allows.
/// </remarks>
public sealed class GoogleTokenSource
{
    /// <summary>Google's OAuth 2.0 token endpoint, used when a credential file names none.</summary>
    public static readonly Uri DefaultTokenUri = new("https://oauth2.googleapis.com/token");

    /// <summary>IAM Credentials API host that mints tokens for an impersonated service account.</summary>
    private static readonly Uri ImpersonationUri = new("https://iamcredentials.googleapis.com/");

    private GoogleTokenSource(string? credentialFile, string? type, IReadOnlyList<Uri> endpoints, string? problem)
    {
        CredentialFile = credentialFile;
        CredentialType = type;
        Endpoints = endpoints;
        Problem = problem;
    }

    /// <summary>The credential file (null: none found; tokens would come from the metadata server).</summary>
    public string? CredentialFile { get; }

    /// <summary>The file's <c>type</c> (<c>service_account</c>, <c>authorized_user</c>, …), or null.</summary>
    public string? CredentialType { get; }

    /// <summary>The endpoints the token fetch dials (empty without a readable file).</summary>
    public IReadOnlyList<Uri> Endpoints { get; }

    /// <summary>Why the file cannot be used (missing, unreadable, malformed), or null. Never quotes the file's content.</summary>
    public string? Problem { get; }

    /// <summary>
    /// Without a credential file: the metadata server's token URL the library would use
    /// (<c>http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token</c>, its host replaced by
    /// <c>GCE_METADATA_HOST</c> as Google's libraries do); null when a file is used.
    /// </summary>
    public Uri? MetadataTokenUri { get; private init; }

    /// <summary>The endpoints a token fetch dials: the file's, or the metadata server's token URL.</summary>
    public IReadOnlyList<Uri> DialedEndpoints => MetadataTokenUri is { } metadata ? [metadata] : Endpoints;

    /// <summary>Finds the credential file of <paramref name="upstream"/> and reads its token endpoints.</summary>
    public static GoogleTokenSource For(UpstreamConfig upstream, Func<string, string?> getEnvironment)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        ArgumentNullException.ThrowIfNull(getEnvironment);
        var file = FindFile(upstream, getEnvironment);
        if (file is null)
        {
            var host = getEnvironment("GCE_METADATA_HOST") is { Length: > 0 } configured ? configured : "169.254.169.254";
            return Uri.TryCreate($"http://{host}/computeMetadata/v1/instance/service-accounts/default/token", UriKind.Absolute, out var metadata)
                ? new GoogleTokenSource(null, null, [], null) { MetadataTokenUri = metadata }
                : new GoogleTokenSource(null, null, [], $"GCE_METADATA_HOST '{host}' is not a host name or address");
        }
        try
        {
            using var stream = File.OpenRead(file);
            using var document = JsonDocument.Parse(stream);
            var root = document.RootElement;
            var type = Text(root, "type");
            IReadOnlyList<Uri>? endpoints = type switch
            {
                // Service accounts sign a JWT and post it to their token_uri (RFC 7523).
                "service_account" => [Endpoint(root, "token_uri") ?? DefaultTokenUri],
                // A refresh token is exchanged at Google's endpoint.
                "authorized_user" => [DefaultTokenUri],
                // Workload identity federation: the STS token_url, then optionally IAM credentials for impersonation.
                "external_account" => Endpoint(root, "token_url") is { } sts
                    ? Endpoint(root, "service_account_impersonation_url") is { } impersonation ? [sts, impersonation] : [sts]
                    : null,
                "impersonated_service_account" => [DefaultTokenUri, Endpoint(root, "service_account_impersonation_url") ?? ImpersonationUri],
                _ => null,
            };
            return endpoints is null
                ? new GoogleTokenSource(file, type, [], $"credential file {file} has {(type is null ? "no type" : $"type '{type}'")}, whose token endpoint Airlock cannot tell")
                : new GoogleTokenSource(file, type, endpoints, null);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or InvalidOperationException)
        {
            return new GoogleTokenSource(file, null, [], $"credential file {file} cannot be read ({ex.GetType().Name})");
        }
    }

    private static string? FindFile(UpstreamConfig upstream, Func<string, string?> getEnvironment)
    {
        if (!string.IsNullOrEmpty(upstream.CredentialsFile))
        {
            return upstream.CredentialsFile;
        }
        if (getEnvironment("GOOGLE_APPLICATION_CREDENTIALS") is { Length: > 0 } variable)
        {
            return variable;
        }
        var gcloud = getEnvironment("CLOUDSDK_CONFIG") is { Length: > 0 } config
            ? config
            : getEnvironment("HOME") is { Length: > 0 } home ? Path.Combine(home, ".config", "gcloud") : null;
        var wellKnown = gcloud is null ? null : Path.Combine(gcloud, "application_default_credentials.json");
        return wellKnown is not null && File.Exists(wellKnown) ? wellKnown : null;
    }

    private static string? Text(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static Uri? Endpoint(JsonElement root, string name) =>
        Text(root, name) is { } text && Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp)
            ? uri
            : null;
}
