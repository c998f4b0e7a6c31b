using System.Net;
using System.Net.Sockets;
using Airlock.Core.Configuration;

namespace Airlock.Core.Egress;

/// <summary>
/// Checks a configuration against its declared data-egress level. <see cref="Evaluate"/> decides what the file
/// alone decides (kinds, TLS, literal addresses, regions); <see cref="EvaluateAsync"/> adds what only the network
/// can tell (the addresses each host name resolves to now). Startup refuses a configuration with a failing check;
/// <c>airlock posture</c> shows every check with its evidence.
/// </summary>
public static partial class EgressEvaluator
{
    /// <summary>
    /// Every check, resolving host names through <paramref name="resolver"/>. <paramref name="getEnvironment"/> finds a
    /// Vertex upstream's Google credential file (<c>GOOGLE_APPLICATION_CREDENTIALS</c>…); the process environment by default.
    /// </summary>
    public static async Task<EgressReport> EvaluateAsync(AirlockConfig config, IHostResolver resolver, CancellationToken ct, Func<string, string?>? getEnvironment = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(resolver);
        getEnvironment ??= Environment.GetEnvironmentVariable;
        var checks = new List<EgressCheck>();
        var rule = EgressRule.For(config);
        AddDeploymentChecks(config, rule, checks);
        if (config.Egress.Proxy is { } proxy)
        {
            checks.Add(await CheckAddressesAsync("egress.proxy.addresses", "Outbound proxy resolves to allowed addresses", proxy, rule, resolver, null, ct).ConfigureAwait(false));
        }
        foreach (var upstream in config.Upstreams)
        {
            AddUpstreamChecks(config, rule, upstream, checks);
            if (UpstreamEndpoints.EffectiveUrl(upstream) is { } url)
            {
                checks.Add(await CheckAddressesAsync("upstream.addresses", "Upstream resolves to allowed addresses", url, rule, resolver, upstream.Name, ct).ConfigureAwait(false));
            }
            if (TokenSourceToCheck(config, upstream, getEnvironment, checks) is { } tokens)
            {
                foreach (var endpoint in tokens.DialedEndpoints)
                {
                    var check = await CheckAddressesAsync(TokenCheckId, TokenCheckTitle, endpoint, TokenRule(config, tokens, rule), resolver, upstream.Name, ct).ConfigureAwait(false);
                    checks.Add(check with { Evidence = TokenEvidence(tokens, endpoint, check) });
                }
            }
            if (AwsSourceToCheck(config, upstream, getEnvironment, checks) is { } aws)
            {
                foreach (var endpoint in aws.Endpoints)
                {
                    var check = await CheckAddressesAsync(AwsCheckId, AwsCheckTitle, endpoint.Uri, AwsRule(config, endpoint), resolver, upstream.Name, ct).ConfigureAwait(false);
                    checks.Add(check with { Evidence = AwsEvidence(aws, endpoint, check), Fix = check.Status == CheckStatus.Fail ? AwsFix(endpoint) : check.Fix });
                }
            }
        }
        await AddOutboundChecksAsync(config, rule, resolver, getEnvironment, checks, ct).ConfigureAwait(false);
        return new EgressReport(config.Level, checks);
    }

    /// <summary>The checks the configuration alone decides (no name resolution; literal IP addresses are checked).</summary>
    public static EgressReport Evaluate(AirlockConfig config, Func<string, string?>? getEnvironment = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        getEnvironment ??= Environment.GetEnvironmentVariable;
        var checks = new List<EgressCheck>();
        var rule = EgressRule.For(config);
        AddDeploymentChecks(config, rule, checks);
        if (config.Egress.Proxy is { } proxy && LiteralCheck("egress.proxy.addresses", "Outbound proxy is on an allowed address", proxy, rule, null) is { } proxyCheck)
        {
            checks.Add(proxyCheck);
        }
        foreach (var upstream in config.Upstreams)
        {
            AddUpstreamChecks(config, rule, upstream, checks);
            if (UpstreamEndpoints.EffectiveUrl(upstream) is { } url && LiteralCheck("upstream.addresses", "Upstream is on an allowed address", url, rule, upstream.Name) is { } check)
            {
                checks.Add(check);
            }
            if (TokenSourceToCheck(config, upstream, getEnvironment, checks) is { } tokens)
            {
                foreach (var endpoint in tokens.DialedEndpoints)
                {
                    var tokenCheck = LiteralCheck(TokenCheckId, TokenCheckTitle, endpoint, TokenRule(config, tokens, rule), upstream.Name)
                        ?? new EgressCheck(TokenCheckId, TokenCheckTitle, CheckStatus.Unknown, $"{endpoint.IdnHost} not resolved (offline); each connection is still checked when it is opened",
                            "run airlock posture without --offline where the gateway runs", upstream.Name);
                    checks.Add(tokenCheck with { Evidence = TokenEvidence(tokens, endpoint, tokenCheck) });
                }
            }
            if (AwsSourceToCheck(config, upstream, getEnvironment, checks) is { } aws)
            {
                foreach (var endpoint in aws.Endpoints)
                {
                    var awsCheck = LiteralCheck(AwsCheckId, AwsCheckTitle, endpoint.Uri, AwsRule(config, endpoint), upstream.Name)
                        ?? new EgressCheck(AwsCheckId, AwsCheckTitle, CheckStatus.Unknown, $"{endpoint.Uri.IdnHost} not resolved (offline); each connection is still checked when it is opened",
                            "run airlock posture without --offline where the gateway runs", upstream.Name);
                    checks.Add(awsCheck with { Evidence = AwsEvidence(aws, endpoint, awsCheck), Fix = awsCheck.Status == CheckStatus.Fail ? AwsFix(endpoint) : awsCheck.Fix });
                }
            }
        }
        AddOutboundChecks(config, rule, getEnvironment, checks);
        return new EgressReport(config.Level, checks);
    }

    /// <summary>
    /// The failing checks as configuration errors (<c>upstreams[2] (name): reason — fix</c>), for startup to refuse
    /// the configuration listing every violation at once.
    /// </summary>
    public static IReadOnlyList<string> Violations(AirlockConfig config, EgressReport report)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(report);
        var errors = new List<string>();
        foreach (var check in report.Checks.Where(c => c.Status == CheckStatus.Fail))
        {
            var where = check.Upstream is { } name
                ? $"upstreams[{IndexOf(config, name)}] ({name})"
                : OutboundLocation(config, check) ?? (check.Id.StartsWith("egress.proxy", StringComparison.Ordinal) ? "egress.proxy" : "level");
            errors.Add($"{where}: {check.Evidence}{(check.Fix is { } fix ? " — " + fix : "")}");
        }
        return errors;
    }

    private static int IndexOf(AirlockConfig config, string name)
    {
        for (var i = 0; i < config.Upstreams.Count; i++)
        {
            if (config.Upstreams[i].Name == name)
            {
                return i;
            }
        }
        return -1;
    }

    private static void AddDeploymentChecks(AirlockConfig config, EgressRule rule, List<EgressCheck> checks)
    {
        checks.Add(config.Level switch
        {
            1 => Pass("level.declared", "Data-egress level declared", "level 1: no code goes to the model vendor directly"),
            2 => Pass("level.declared", "Data-egress level declared", "level 2: no code crosses the public internet"),
            3 => Pass("level.declared", "Data-egress level declared", "level 3: no external connectivity"),
            _ when config.IsQuickstart => Fail("level.declared", "Data-egress level declared",
                "no data-egress level is declared: this is the quickstart trial (no airlock.yaml), whose ANTHROPIC_API_KEY sends code straight to the Anthropic API, which every level forbids",
                "expected for a trial; a deployment writes airlock.yaml with `level: 1`, `2` or `3` (docs/levels.md) and runs posture with --config", null),
            _ => Fail("level.declared", "Data-egress level declared", $"no data-egress level is declared ({config.Source})",
                "write airlock.yaml with `level: 1`, `2` or `3`", null),
        });
        checks.Add(config.Egress.Proxy is { } proxy
            ? Pass("egress.proxy", "Outbound proxy", $"declared proxy {proxy.Host}:{proxy.Port}; environment proxy variables are ignored")
            : Pass("egress.proxy", "Outbound proxy", "none: upstreams are dialed directly; environment proxy variables (HTTPS_PROXY…) are ignored"));
        if (config.Level == 2 && config.Egress.AllowLoopback)
        {
            checks.Add(new EgressCheck("egress.loopback", "Loopback accepted as private", CheckStatus.Unknown,
                "egress.allow_loopback is true: loopback destinations count as private", "remove egress.allow_loopback outside tests and single-host trials", null));
        }
        if (config.Level >= 3)
        {
            var cloud = config.Upstreams.Where(u => UpstreamEndpoints.HasCloudCredentials(u.Kind)).Select(u => u.Name).ToList();
            checks.Add(cloud.Count == 0
                ? Pass("credentials.cloud", "No cloud credential provider", "no Bedrock or Vertex upstream: no AWS or Google credential code is initialised")
                : Fail("credentials.cloud", "No cloud credential provider", $"upstreams {string.Join(", ", cloud)} need cloud credentials, which level 3 forbids",
                    "remove them or route their models to on-premises upstreams", null));
        }
    }

    private static void AddUpstreamChecks(AirlockConfig config, EgressRule rule, UpstreamConfig upstream, List<EgressCheck> checks)
    {
        var name = upstream.Name;
        var url = UpstreamEndpoints.EffectiveUrl(upstream);
        var kind = upstream.Kind.ToString().ToLowerInvariant();
        const string KindTitle = "Upstream kind allowed at this level";
        if (upstream.Kind == UpstreamKind.Simulated)
        {
            checks.Add(new EgressCheck("upstream.kind", KindTitle, CheckStatus.Pass, "simulated model inside the gateway: never connects anywhere", null, name));
            return;
        }
        if (upstream.Kind == UpstreamKind.Anthropic && url is not null && UpstreamEndpoints.IsVendorHost(url.Host))
        {
            checks.Add(config.Level >= 1
                ? new EgressCheck("upstream.kind", KindTitle, CheckStatus.Fail,
                    $"kind anthropic points at the model vendor ({url.Host}), which level {config.Level} forbids",
                    "route through Bedrock or Vertex (kind: bedrock | vertex) or an on-premises server (kind: messages)", name)
                : new EgressCheck("upstream.kind", KindTitle, CheckStatus.Unknown,
                    $"kind anthropic sends code to the model vendor ({url.Host})", "declare a level in airlock.yaml", name));
        }
        else if (config.Level >= 3 && UpstreamEndpoints.IsCloudKind(upstream.Kind))
        {
            checks.Add(new EgressCheck("upstream.kind", KindTitle, CheckStatus.Fail,
                $"kind {kind} is a cloud upstream, which level 3 forbids", "use an on-premises server (kind: messages or openai)", name));
        }
        else if (UpstreamEndpoints.HasCloudCredentials(upstream.Kind))
        {
            checks.Add(Pass("upstream.kind", KindTitle, $"kind {kind}: the cloud provider's managed endpoint (no vendor retention)", name));
        }
        else if (upstream.Kind == UpstreamKind.Anthropic)
        {
            checks.Add(Pass("upstream.kind", KindTitle, $"kind anthropic at {url?.Host}, not the vendor's host (declare kind: messages if it is an on-premises server)", name));
        }
        else
        {
            checks.Add(Pass("upstream.kind", KindTitle, $"kind {kind}: on-premises server at {url?.Host}", name));
        }

        if (config.Level >= 2 && UpstreamEndpoints.IsCloudKind(upstream.Kind) && url is not null)
        {
            checks.Add(url.Scheme == Uri.UriSchemeHttps
                ? Pass("upstream.tls", "TLS to cloud upstream", $"https://{url.Authority}", name)
                : Fail("upstream.tls", "TLS to cloud upstream", $"{url.Scheme}://{url.Authority} is not TLS; level {config.Level} requires https to cloud upstreams",
                    "use an https:// URL", name));
        }

        if (UpstreamEndpoints.HasCloudCredentials(upstream.Kind) && upstream.Region is { } region)
        {
            var allowed = EffectiveAllowedRegions(config, upstream);
            checks.Add(allowed.Count == 0
                ? new EgressCheck("upstream.region", "Region allowed", CheckStatus.Unknown, $"region {region}; no allowed_regions declared, so any region is accepted",
                    "declare allowed_regions (deployment-wide or on the upstream)", name)
                : allowed.Contains(region)
                    ? Pass("upstream.region", "Region allowed", $"region '{region}' is in allowed_regions ({string.Join(", ", allowed)})", name)
                    : Fail("upstream.region", "Region allowed", $"region '{region}' is not in allowed_regions ({string.Join(", ", allowed)})",
                        "use an allowed region or extend allowed_regions", name));
            foreach (var mapping in upstream.ModelMap)
            {
                if (upstream.Kind == UpstreamKind.Bedrock && RegionRule.CheckBedrockModel(mapping.Model, allowed) is { } problem)
                {
                    checks.Add(Fail("upstream.model_region", "Mapped model stays in allowed regions", problem, "map to an in-region model id or extend allowed_regions", name));
                }
            }
        }
    }

    private const string TokenCheckId = "upstream.token_endpoint";
    private const string TokenCheckTitle = "OAuth token endpoint resolves to allowed addresses";

    /// <summary>
    /// The Google token source of a Vertex upstream at level 2 (where its token endpoints must be private, like the
    /// upstream), or null when there is nothing to resolve: another kind or level, or a source that already failed
    /// or could not be read (that check is added here).
    /// </summary>
    private static GoogleTokenSource? TokenSourceToCheck(AirlockConfig config, UpstreamConfig upstream, Func<string, string?> getEnvironment, List<EgressCheck> checks)
    {
        if (upstream.Kind != UpstreamKind.Vertex || config.Level != 2)
        {
            return null;
        }
        var tokens = GoogleTokenSource.For(upstream, getEnvironment);
        if (tokens.Problem is { } problem)
        {
            checks.Add(new EgressCheck(TokenCheckId, TokenCheckTitle, CheckStatus.Unknown, problem,
                "use a service_account, authorized_user or external_account credential file the gateway can read", upstream.Name));
            return null;
        }
        return tokens;
    }

    /// <summary>
    /// The metadata server (no credential file) is a host-local credential fetch: checked with
    /// <see cref="EgressRule.ForMetadataCredentials"/>, like AWS instance metadata.
    /// </summary>
    private static EgressRule TokenRule(AirlockConfig config, GoogleTokenSource tokens, EgressRule rule) =>
        tokens.MetadataTokenUri is not null ? EgressRule.ForMetadataCredentials(config) : rule;

    private static string TokenEvidence(GoogleTokenSource tokens, Uri endpoint, EgressCheck check) => tokens.MetadataTokenUri is not null
        ? $"token endpoint {endpoint.GetLeftPart(UriPartial.Path)} (the metadata server: no credential file, credentials_file or GOOGLE_APPLICATION_CREDENTIALS): {check.Evidence}"
            + (check.Status == CheckStatus.Pass ? "; link-local or loopback metadata, never leaves the host" : "")
        : $"token endpoint {endpoint.GetLeftPart(UriPartial.Path)} ({tokens.CredentialType} credential file {tokens.CredentialFile}): {check.Evidence}";

    private const string AwsCheckId = "upstream.aws_credentials";
    private const string AwsCheckTitle = "AWS credential endpoints resolve to allowed addresses";

    /// <summary>
    /// The AWS credential source of a Bedrock upstream signing with SigV4 at level 2 (where every endpoint fetching
    /// its credentials must be private, or host-local metadata), or null when there is nothing to resolve: another kind
    /// or level, a Bedrock API key, static keys (that check is added here), or a source refused here.
    /// </summary>
    private static AwsCredentialSource? AwsSourceToCheck(AirlockConfig config, UpstreamConfig upstream, Func<string, string?> getEnvironment, List<EgressCheck> checks)
    {
        if (upstream.Kind != UpstreamKind.Bedrock || config.Level != 2 || upstream.ApiKeyEnv is not null)
        {
            return null;
        }
        var source = AwsCredentialSource.For(upstream, getEnvironment);
        if (source.Problem is { } problem)
        {
            checks.Add(Fail(AwsCheckId, AwsCheckTitle, $"AWS credentials: {problem}",
                "use static keys, web identity (STS through a VPC endpoint), SSO through private endpoints, or container / instance credentials (docs/levels.md)", upstream.Name));
            return null;
        }
        if (source.Endpoints.Count == 0)
        {
            checks.Add(Pass(AwsCheckId, AwsCheckTitle, $"AWS credentials: {source.Description}; no credential endpoint is dialed", upstream.Name));
            return null;
        }
        return source;
    }

    private static EgressRule AwsRule(AirlockConfig config, AwsCredentialEndpoint endpoint) =>
        endpoint.HostLocal ? EgressRule.ForMetadataCredentials(config) : EgressRule.For(config);

    private static string AwsFix(AwsCredentialEndpoint endpoint) => endpoint switch
    {
        { HostLocal: true } => $"point the {endpoint.Role} endpoint at the well-known metadata address ({string.Join(", ", AwsCredentialSource.WellKnownMetadataAddresses)}) or loopback; no other link-local or public address is allowed",
        { Role: "STS" } => "reach STS through an interface VPC endpoint (private DNS for sts.REGION.amazonaws.com, or AWS_ENDPOINT_URL_STS set to its vpce-… host)",
        _ => "reach IAM Identity Center through VPC endpoints (AWS_ENDPOINT_URL_SSO / AWS_ENDPOINT_URL_SSO_OIDC), or use container or instance credentials",
    };

    private static string AwsEvidence(AwsCredentialSource source, AwsCredentialEndpoint endpoint, EgressCheck check)
    {
        var hostLocal = endpoint.HostLocal && check.Status == CheckStatus.Pass
            ? "; link-local or loopback metadata, never leaves the host"
            : "";
        return $"{endpoint.Role} endpoint {endpoint.Uri.GetLeftPart(UriPartial.Authority)} ({source.Description}): {check.Evidence}{hostLocal}";
    }

    /// <summary>The regions an upstream may serve in: its own <c>allowed_regions</c>, else the deployment-wide list.</summary>
    public static IReadOnlyList<string> EffectiveAllowedRegions(AirlockConfig config, UpstreamConfig upstream)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(upstream);
        return upstream.AllowedRegions.Count > 0 ? upstream.AllowedRegions : config.AllowedRegions;
    }

    private static EgressCheck? LiteralCheck(string id, string title, Uri url, EgressRule rule, string? upstream)
    {
        if (!IPAddress.TryParse(url.IdnHost, out var address))
        {
            return null;
        }
        IPAddress[] addresses = [address];
        return rule.Check(url.IdnHost, addresses) is { } reason
            ? Fail(id, title, reason, FixFor(rule), upstream)
            : Pass(id, title, EgressRule.DescribeAddresses(addresses), upstream);
    }

    private static Task<EgressCheck> CheckAddressesAsync(string id, string title, Uri url, EgressRule rule, IHostResolver resolver, string? upstream, CancellationToken ct) =>
        CheckHostAsync(id, title, url.IdnHost, rule, resolver, upstream, ct);

    private static async Task<EgressCheck> CheckHostAsync(string id, string title, string host, EgressRule rule, IHostResolver resolver, string? upstream, CancellationToken ct)
    {
        IPAddress[] addresses;
        if (IPAddress.TryParse(host, out var literal))
        {
            addresses = [literal];
        }
        else
        {
            try
            {
                addresses = await resolver.ResolveAsync(host, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or ArgumentException or InvalidOperationException or IOException)
            {
                return new EgressCheck(id, title, CheckStatus.Unknown, $"{host} did not resolve ({ex.Message}); each connection is still checked when it is opened",
                    "make the name resolvable from the gateway", upstream);
            }
        }
        return rule.Check(host, addresses) is { } reason
            ? Fail(id, title, reason, FixFor(rule), upstream)
            : Pass(id, title, $"{host} → {EgressRule.DescribeAddresses(addresses)}", upstream);
    }

    private static string FixFor(EgressRule rule) => rule.Level >= 2
        ? "use a private endpoint (AWS PrivateLink vpce-… host, Private Service Connect, an on-premises address)"
        : "point the upstream at a model server, not a link-local or metadata address";

    private static EgressCheck Pass(string id, string title, string evidence, string? upstream = null) => new(id, title, CheckStatus.Pass, evidence, null, upstream);

    private static EgressCheck Fail(string id, string title, string evidence, string fix, string? upstream) => new(id, title, CheckStatus.Fail, evidence, fix, upstream);
}
