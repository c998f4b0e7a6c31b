using System.Net;
using System.Security.Cryptography;
using System.Text;
using Airlock.Core.Configuration;

namespace Airlock.Core.Egress;

/// <summary>One endpoint an AWS credential source makes the gateway dial.</summary>
/// <param name="Role">What it is, for evidence and errors (<c>STS</c>, <c>SSO portal</c>, <c>instance metadata</c>…).</param>
/// <param name="Uri">The base URI dialed.</param>
/// <param name="HostLocal">
/// A metadata endpoint on the host's own link (instance metadata, container credentials): checked with
/// <see cref="EgressRule.ForMetadataCredentials"/>, never through the declared proxy.
/// </param>
public sealed record AwsCredentialEndpoint(string Role, Uri Uri, bool HostLocal);

/// <summary>
/// Where a Bedrock upstream's AWS credentials come from at level 2, found the way the AWS SDK for .NET (v4) finds
/// them, and every endpoint fetching them dials. The egress evaluator checks these endpoints like an upstream's
/// (startup, posture), and the gateway fetches from exactly these endpoints through its connect guard, so the
/// addresses checked are the addresses dialed.
/// </summary>
/// <remarks>
/// Order, as the SDK documents it (https://docs.aws.amazon.com/sdk-for-net/v4/developer-guide/creds-assign.html):
/// <c>AWS_ACCESS_KEY_ID</c>/<c>AWS_SECRET_ACCESS_KEY</c>, web identity from <c>AWS_WEB_IDENTITY_TOKEN_FILE</c> and
/// <c>AWS_ROLE_ARN</c>, the profile named by <c>AWS_PROFILE</c> (else <c>default</c>) in the shared config and
/// credentials files, container credentials (<c>AWS_CONTAINER_CREDENTIALS_RELATIVE_URI</c> / <c>_FULL_URI</c>), and
/// EC2 instance metadata unless <c>AWS_EC2_METADATA_DISABLED</c> is true. A profile Airlock cannot fetch through its
/// guard (<c>credential_process</c>, <c>role_arn</c> with a source profile) is a <see cref="Problem"/>: at level 2 it
/// is refused, never handed to the SDK.
/// </remarks>
public sealed class AwsCredentialSource
{
    /// <summary>
    /// The well-known AWS metadata addresses that hand out credentials from the host's own link: EC2 instance
    /// metadata (169.254.169.254, fd00:ec2::254), ECS task credentials (169.254.170.2) and the EKS Pod Identity agent
    /// (169.254.170.23, fd00:ec2::23). Sources: the EC2 user guide (instance metadata service), the ECS developer guide
    /// (task IAM roles) and the EKS user guide (Pod Identity agent).
    /// </summary>
    public static readonly IReadOnlyList<IPAddress> WellKnownMetadataAddresses =
    [
        IPAddress.Parse("169.254.169.254"), IPAddress.Parse("169.254.170.2"), IPAddress.Parse("169.254.170.23"),
        IPAddress.Parse("fd00:ec2::254"), IPAddress.Parse("fd00:ec2::23"),
    ];

    private AwsCredentialSource(AwsCredentialKind kind, string description, IReadOnlyList<AwsCredentialEndpoint> endpoints, string? problem)
    {
        Kind = kind;
        Description = description;
        Endpoints = endpoints;
        Problem = problem;
    }

    /// <summary>Which source the chain settles on.</summary>
    public AwsCredentialKind Kind { get; }

    /// <summary>The source in words, for evidence (variables, profile and file names; never a key or token).</summary>
    public string Description { get; }

    /// <summary>The endpoints fetching credentials dials (empty for static keys).</summary>
    public IReadOnlyList<AwsCredentialEndpoint> Endpoints { get; }

    /// <summary>Why this source cannot be used through the guard, or null. Never quotes a secret.</summary>
    public string? Problem { get; }

    /// <summary>Static keys (environment or profile); null for other kinds.</summary>
    public AwsStaticKeys? StaticKeys { get; private init; }

    /// <summary>Web identity parameters; null for other kinds.</summary>
    public AwsWebIdentity? WebIdentity { get; private init; }

    /// <summary>SSO parameters; null for other kinds.</summary>
    public AwsSsoProfile? Sso { get; private init; }

    /// <summary>Container credential parameters; null for other kinds.</summary>
    public AwsContainerCredentials? Container { get; private init; }

    /// <summary>Finds the credential source of <paramref name="upstream"/> (a Bedrock upstream) in the gateway's environment.</summary>
    public static AwsCredentialSource For(UpstreamConfig upstream, Func<string, string?> getEnvironment)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        ArgumentNullException.ThrowIfNull(getEnvironment);
        string? Env(string name) => getEnvironment(name) is { Length: > 0 } value ? value : null;

        if (Env("AWS_ACCESS_KEY_ID") is { } accessKey && Env("AWS_SECRET_ACCESS_KEY") is { } secretKey)
        {
            return new AwsCredentialSource(AwsCredentialKind.StaticKeys, "static keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", [], null)
            {
                StaticKeys = new AwsStaticKeys(accessKey, secretKey, Env("AWS_SESSION_TOKEN")),
            };
        }

        SharedProfiles profiles;
        try
        {
            profiles = SharedProfiles.Read(Env);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return Refused($"the shared AWS config or credentials file cannot be read ({ex.GetType().Name})");
        }
        var profileName = Env("AWS_PROFILE") ?? "default";
        var profile = profiles.Profile(profileName);

        if (Env("AWS_WEB_IDENTITY_TOKEN_FILE") is { } tokenFile && Env("AWS_ROLE_ARN") is { } roleArn)
        {
            return WebIdentitySource(upstream, Env, profile, tokenFile, roleArn, Env("AWS_ROLE_SESSION_NAME"),
                "web identity (AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN)");
        }

        if (profile is not null)
        {
            return ProfileSource(upstream, Env, profiles, profileName, profile);
        }
        if (Env("AWS_PROFILE") is not null)
        {
            return Refused($"AWS_PROFILE names profile '{profileName}', which is in neither {profiles.ConfigFile} nor {profiles.CredentialsFile}");
        }

        if (Env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") is { } relative)
        {
            return ContainerSource(new Uri("http://169.254.170.2" + (relative.StartsWith('/') ? relative : "/" + relative)), "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", Env);
        }
        if (Env("AWS_CONTAINER_CREDENTIALS_FULL_URI") is { } full)
        {
            return Uri.TryCreate(full, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
                ? ContainerSource(uri, "AWS_CONTAINER_CREDENTIALS_FULL_URI", Env)
                : Refused("AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http or https URL");
        }

        if (string.Equals(Env("AWS_EC2_METADATA_DISABLED"), "true", StringComparison.OrdinalIgnoreCase))
        {
            return new AwsCredentialSource(AwsCredentialKind.None,
                "no AWS credential source: no keys, web identity, profile or container credentials, and AWS_EC2_METADATA_DISABLED is true", [],
                "no AWS credential source found (environment keys, web identity, shared profile, container credentials; instance metadata is disabled)");
        }
        var imds = Env("AWS_EC2_METADATA_SERVICE_ENDPOINT") is { } configured
            ? Uri.TryCreate(configured, UriKind.Absolute, out var endpoint) && endpoint.Scheme is "http" or "https" ? endpoint : null
            : string.Equals(Env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"), "IPv6", StringComparison.OrdinalIgnoreCase)
                ? new Uri("http://[fd00:ec2::254]")
                : new Uri("http://169.254.169.254");
        return imds is null
            ? Refused("AWS_EC2_METADATA_SERVICE_ENDPOINT is not an http or https URL")
            : new AwsCredentialSource(AwsCredentialKind.InstanceMetadata,
                $"EC2 instance metadata (IMDSv2) at {imds.GetLeftPart(UriPartial.Authority)}{(Env("AWS_EC2_METADATA_SERVICE_ENDPOINT") is null ? "" : " (AWS_EC2_METADATA_SERVICE_ENDPOINT)")}",
                [new AwsCredentialEndpoint("instance metadata", imds, HostLocal: true)], null);
    }

    private static AwsCredentialSource Refused(string problem) => new(AwsCredentialKind.Unsupported, problem, [], problem);

    private static AwsCredentialSource ProfileSource(UpstreamConfig upstream, Func<string, string?> env, SharedProfiles profiles, string name, Dictionary<string, string> profile)
    {
        string? Field(string key) => profile.TryGetValue(key, out var value) && value.Length > 0 ? value : null;
        var where = $"profile '{name}'";
        if (Field("credential_process") is not null)
        {
            return Refused($"{where} uses credential_process: a program Airlock cannot hold to the data-egress level's connect guard; level 2 refuses it");
        }
        if (Field("role_arn") is { } roleArn && Field("web_identity_token_file") is { } tokenFile)
        {
            return WebIdentitySource(upstream, env, profile, tokenFile, roleArn, Field("role_session_name"), $"web identity ({where}: web_identity_token_file and role_arn)");
        }
        if (Field("role_arn") is not null)
        {
            return Refused($"{where} assumes role_arn from {(Field("source_profile") is { } source ? $"source_profile '{source}'" : Field("credential_source") is { } cs ? $"credential_source {cs}" : "another source")}: "
                + "role chaining is not fetched through the connect guard; level 2 refuses it (use web identity, SSO, container or instance credentials, or static keys of the role's session)");
        }
        if (Field("aws_access_key_id") is { } accessKey && Field("aws_secret_access_key") is { } secretKey)
        {
            return new AwsCredentialSource(AwsCredentialKind.StaticKeys, $"static keys of {where}", [], null)
            {
                StaticKeys = new AwsStaticKeys(accessKey, secretKey, Field("aws_session_token")),
            };
        }
        if (Field("sso_account_id") is { } account && Field("sso_role_name") is { } role)
        {
            var session = Field("sso_session");
            var sessionFields = session is null ? null : profiles.SsoSession(session);
            if (session is not null && sessionFields is null)
            {
                return Refused($"{where} names sso_session '{session}', which {profiles.ConfigFile} does not define");
            }
            string? SessionField(string key) => sessionFields is not null && sessionFields.TryGetValue(key, out var value) && value.Length > 0 ? value : Field(key);
            var startUrl = SessionField("sso_start_url");
            var ssoRegion = SessionField("sso_region");
            if (startUrl is null || ssoRegion is null || env("HOME") is not { } home)
            {
                return Refused($"{where} is an SSO profile without {(startUrl is null ? "sso_start_url" : ssoRegion is null ? "sso_region" : "a HOME directory for the token cache")}");
            }
            // 'aws sso login' caches the token under the SHA-1 of the session name (or, for legacy profiles, of the start
            // URL): a file name the CLI chose, not a security use of SHA-1.
#pragma warning disable CA5350
            var cacheKey = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(session ?? startUrl)));
#pragma warning restore CA5350
            var cacheFile = Path.Combine(home, ".aws", "sso", "cache", cacheKey + ".json");
            var portal = EndpointOverride(env, "AWS_ENDPOINT_URL_SSO", null) ?? new Uri($"https://portal.sso.{ssoRegion}.amazonaws.com");
            List<AwsCredentialEndpoint> endpoints = [new("SSO portal", portal, false)];
            Uri? oidc = null;
            if (session is not null)
            {
                // An sso-session token carries a refresh token, exchanged at the SSO OIDC endpoint when the access token expires.
                oidc = EndpointOverride(env, "AWS_ENDPOINT_URL_SSO_OIDC", null) ?? new Uri($"https://oidc.{ssoRegion}.amazonaws.com");
                endpoints.Add(new("SSO OIDC token refresh", oidc, false));
            }
            return new AwsCredentialSource(AwsCredentialKind.Sso, $"SSO ({where}, account {account}, role {role}, sso_region {ssoRegion}, token cache {cacheFile})", endpoints, null)
            {
                Sso = new AwsSsoProfile(account, role, cacheFile, portal, oidc),
            };
        }
        return Refused($"{where} holds no credentials Airlock can fetch through the connect guard (static keys, web identity or SSO)");
    }

    private static AwsCredentialSource WebIdentitySource(UpstreamConfig upstream, Func<string, string?> env, Dictionary<string, string>? profile, string tokenFile, string roleArn, string? sessionName, string description)
    {
        string? Field(string key) => profile is not null && profile.TryGetValue(key, out var value) && value.Length > 0 ? value : null;
        // The STS endpoint as the SDK picks it: the service-specific override, the general override (variable, then
        // the profile's endpoint_url), else the regional endpoint of the configured region (the upstream's when none).
        var region = env("AWS_REGION") ?? env("AWS_DEFAULT_REGION") ?? Field("region") ?? upstream.Region ?? "us-east-1";
        var endpoint = EndpointOverride(env, "AWS_ENDPOINT_URL_STS", Field("endpoint_url"));
        var sts = endpoint ?? new Uri($"https://sts.{region}.amazonaws.com");
        return new AwsCredentialSource(AwsCredentialKind.WebIdentity, $"{description}, role {roleArn}", [new AwsCredentialEndpoint("STS", sts, false)], null)
        {
            WebIdentity = new AwsWebIdentity(tokenFile, roleArn, sessionName ?? "airlock-gateway", sts),
        };
    }

    private static AwsCredentialSource ContainerSource(Uri uri, string variable, Func<string, string?> env) =>
        new(AwsCredentialKind.Container, $"container credentials ({variable}) at {uri.GetLeftPart(UriPartial.Authority)}", [new AwsCredentialEndpoint("container credentials", uri, HostLocal: true)], null)
        {
            Container = new AwsContainerCredentials(uri, env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"), env("AWS_CONTAINER_AUTHORIZATION_TOKEN")),
        };

    /// <summary>
    /// The SDK's endpoint overrides (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html):
    /// <c>AWS_ENDPOINT_URL_&lt;SERVICE&gt;</c>, then <c>AWS_ENDPOINT_URL</c>, then the profile's <c>endpoint_url</c>;
    /// none when <c>AWS_IGNORE_CONFIGURED_ENDPOINT_URLS</c> is true.
    /// </summary>
    private static Uri? EndpointOverride(Func<string, string?> env, string serviceVariable, string? profileEndpoint)
    {
        if (string.Equals(env("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"), "true", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var text = env(serviceVariable) ?? env("AWS_ENDPOINT_URL") ?? profileEndpoint;
        return text is not null && Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? uri : null;
    }

    /// <summary>The shared config and credentials files (INI), read without the SDK.</summary>
    private sealed class SharedProfiles
    {
        private readonly Dictionary<string, Dictionary<string, string>> _config;
        private readonly Dictionary<string, Dictionary<string, string>> _credentials;

        private SharedProfiles(string? configFile, string? credentialsFile, Dictionary<string, Dictionary<string, string>> config, Dictionary<string, Dictionary<string, string>> credentials)
        {
            ConfigFile = configFile ?? "(no config file)";
            CredentialsFile = credentialsFile ?? "(no credentials file)";
            _config = config;
            _credentials = credentials;
        }

        public string ConfigFile { get; }

        public string CredentialsFile { get; }

        public static SharedProfiles Read(Func<string, string?> env)
        {
            var home = env("HOME");
            var config = env("AWS_CONFIG_FILE") ?? (home is null ? null : Path.Combine(home, ".aws", "config"));
            var credentials = env("AWS_SHARED_CREDENTIALS_FILE") ?? (home is null ? null : Path.Combine(home, ".aws", "credentials"));
            return new SharedProfiles(config, credentials, Ini(config), Ini(credentials));
        }

        /// <summary>A profile's fields, the credentials file's over the config file's (as the SDK merges them); null when neither has it.</summary>
        public Dictionary<string, string>? Profile(string name)
        {
            var fromConfig = _config.GetValueOrDefault(name == "default" ? "default" : "profile " + name) ?? (name == "default" ? _config.GetValueOrDefault("profile default") : null);
            var fromCredentials = _credentials.GetValueOrDefault(name);
            if (fromConfig is null && fromCredentials is null)
            {
                return null;
            }
            var merged = new Dictionary<string, string>(fromConfig ?? [], StringComparer.OrdinalIgnoreCase);
            foreach (var (key, value) in fromCredentials ?? [])
            {
                merged[key] = value;
            }
            return merged;
        }

        public Dictionary<string, string>? SsoSession(string name) => _config.GetValueOrDefault("sso-session " + name);

        /// <summary>Sections of an INI file; indented lines (nested <c>services</c> settings) are skipped. A missing file is empty.</summary>
        private static Dictionary<string, Dictionary<string, string>> Ini(string? path)
        {
            var sections = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
            if (path is null || !File.Exists(path))
            {
                return sections;
            }
            Dictionary<string, string>? current = null;
            foreach (var raw in File.ReadLines(path))
            {
                var line = raw.TrimEnd();
                var trimmed = line.TrimStart();
                if (trimmed.Length == 0 || trimmed[0] is '#' or ';')
                {
                    continue;
                }
                if (trimmed[0] == '[' && trimmed.EndsWith(']'))
                {
                    var name = string.Join(' ', trimmed[1..^1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
                    current = sections.TryGetValue(name, out var existing) ? existing : sections[name] = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
                    continue;
                }
                if (current is null || line.Length != trimmed.Length || trimmed.IndexOf('=') is not (> 0 and var equals))
                {
                    continue;
                }
                current[trimmed[..equals].Trim()] = trimmed[(equals + 1)..].Trim();
            }
            return sections;
        }
    }
}

/// <summary>The kinds of AWS credential source.</summary>
public enum AwsCredentialKind
{
    /// <summary>Access keys from the environment or a profile: nothing is dialed.</summary>
    StaticKeys,

    /// <summary>STS <c>AssumeRoleWithWebIdentity</c> with a token file (EKS IRSA, other OIDC providers).</summary>
    WebIdentity,

    /// <summary>IAM Identity Center: the cached <c>aws sso login</c> token, then the portal's <c>GetRoleCredentials</c>.</summary>
    Sso,

    /// <summary>ECS task or EKS Pod Identity credentials from a container endpoint.</summary>
    Container,

    /// <summary>EC2 instance metadata (IMDSv2).</summary>
    InstanceMetadata,

    /// <summary>A source Airlock does not fetch through the guard (see <see cref="AwsCredentialSource.Problem"/>).</summary>
    Unsupported,

    /// <summary>No source at all.</summary>
    None,
}

/// <summary>Access keys. <see cref="ToString"/> shows neither the secret nor the token.</summary>
public sealed class AwsStaticKeys(string accessKeyId, string secretAccessKey, string? sessionToken)
{
    /// <summary>The access key id.</summary>
    public string AccessKeyId { get; } = accessKeyId;

    /// <summary>The secret key. Never log it.</summary>
    public string SecretAccessKey { get; } = secretAccessKey;

    /// <summary>The session token, or null.</summary>
    public string? SessionToken { get; } = sessionToken;

    /// <inheritdoc/>
    public override string ToString() => "AwsStaticKeys(…)";
}

/// <summary>STS <c>AssumeRoleWithWebIdentity</c>: the token file (read at each fetch, it rotates), the role and the STS endpoint.</summary>
public sealed record AwsWebIdentity(string TokenFile, string RoleArn, string SessionName, Uri StsEndpoint);

/// <summary>SSO <c>GetRoleCredentials</c> with the cached token; <paramref name="OidcEndpoint"/> refreshes it (sso-session profiles).</summary>
public sealed record AwsSsoProfile(string AccountId, string RoleName, string TokenCacheFile, Uri PortalEndpoint, Uri? OidcEndpoint);

/// <summary>Container credentials: the URI and its authorization (a token file, read at each fetch, or a token).</summary>
public sealed class AwsContainerCredentials(Uri uri, string? authorizationTokenFile, string? authorizationToken)
{
    /// <summary>The credentials URI.</summary>
    public Uri Uri { get; } = uri;

    /// <summary><c>AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE</c> (EKS Pod Identity), or null.</summary>
    public string? AuthorizationTokenFile { get; } = authorizationTokenFile;

    /// <summary><c>AWS_CONTAINER_AUTHORIZATION_TOKEN</c>, or null. Never log it.</summary>
    public string? AuthorizationToken { get; } = authorizationToken;

    /// <inheritdoc/>
    public override string ToString() => $"AwsContainerCredentials({Uri.GetLeftPart(UriPartial.Authority)})";
}
