using Airlock.Core.Aws.Policies;
using Airlock.Core.Configuration;

namespace Airlock.Core.Posture;

/// <summary>What the live side of <c>airlock posture</c> observed, handed to <see cref="PostureBuilder"/>.</summary>
public sealed record PostureInputs
{
    /// <summary>The egress checks of the declared level (from <c>EgressEvaluator</c>), already in posture form.</summary>
    public IReadOnlyList<PostureCheck> EgressChecks { get; init; } = [];

    /// <summary>The audit store probe; null when it was not run (<c>--offline</c>).</summary>
    public AuditProbe? Audit { get; init; }

    /// <summary>The rule-pack probe; null when inspection is off or the probe was not run.</summary>
    public RulesProbe? Rules { get; init; }

    /// <summary>When the checks ran.</summary>
    public required DateTimeOffset GeneratedAt { get; init; }

    /// <summary>True when name resolution and live probes were skipped.</summary>
    public bool Offline { get; init; }

    /// <summary>Reads an environment variable (to say whether a named credential variable is set; the value is never kept).</summary>
    public Func<string, string?> GetEnvironment { get; init; } = _ => null;
}

/// <summary>
/// Computes the posture report from the configuration and the probes: the level's checks with evidence, the gateway's own
/// controls, the decision matrix, per-upstream processing location, retention and training terms, and the pre-adoption checklist.
/// Vendor terms are facts of the upstream kind as documented by the providers (DESIGN.md: direct API 0–30 days and no training
/// under commercial terms; Bedrock and Vertex no vendor retention; on-premises none).
/// </summary>
public static class PostureBuilder
{
    /// <summary>Longest transcript retention on developer machines the checklist accepts (days).</summary>
    public const int MaxCleanupDays = 30;

    /// <summary>Longest <c>apiKeyHelper</c> session-key lifetime the checklist accepts.</summary>
    public static readonly TimeSpan MaxSessionKeyLifetime = TimeSpan.FromHours(24);

    /// <summary>Builds the report.</summary>
    public static PostureReport Build(AirlockConfig config, PostureInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(inputs);
        var targets = BedrockInvocationTargets.From(config);
        var upstreams = config.Upstreams.Select(u => Facts(u, targets)).ToList();
        var checks = new List<PostureCheck>(inputs.EgressChecks);
        checks.AddRange(config.Upstreams.Select(u => CredentialCheck(u, inputs.GetEnvironment)));
        checks.AddRange(AuditChecks(config, inputs));
        checks.Add(RulesCheck(config, inputs));
        checks.Add(ClaudeCodeCheck(config.ClaudeCode));
        return new PostureReport
        {
            GeneratedAt = inputs.GeneratedAt,
            ConfigSource = config.Source,
            Level = config.Level,
            Offline = inputs.Offline,
            Checks = checks,
            Checklist = Checklist(config, inputs, checks, upstreams),
            Matrix = Matrix(config, upstreams),
            Upstreams = upstreams,
            Routes = [.. config.Routes.Select(r => new RouteFacts(r.Models, [r.Upstream, .. r.Fallbacks]))],
        };
    }

    /// <summary>The kind as written in <c>airlock.yaml</c>.</summary>
    public static string KindName(UpstreamKind kind) => kind.ToString().ToLowerInvariant();

    private static bool IsOnPremises(UpstreamKind kind) => kind is not (UpstreamKind.Anthropic or UpstreamKind.Bedrock or UpstreamKind.Vertex or UpstreamKind.Simulated);

    private static bool IsVendor(UpstreamConfig upstream) =>
        upstream.Kind == UpstreamKind.Anthropic && upstream.Url is { } url && url.Host.EndsWith("anthropic.com", StringComparison.OrdinalIgnoreCase);

    private static UpstreamFacts Facts(UpstreamConfig upstream, BedrockInvocationTargets targets)
    {
        var kind = KindName(upstream.Kind);
        var credential = CredentialSource(upstream);
        switch (upstream.Kind)
        {
            case UpstreamKind.Simulated:
                return new UpstreamFacts(upstream.Name, kind, "inside the gateway", "the gateway itself (fixed answers, no model)", "none", "none", credential, true);
            case UpstreamKind.Bedrock:
                var regions = targets.Targets.Where(t => t.Upstream == upstream.Name).SelectMany(t => t.ProcessingRegions)
                    .Append(upstream.Region ?? "?").Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
                var where = regions.Contains("*") ? "AWS: any commercial region (global cross-Region profile)" : $"AWS {string.Join(", ", regions)}";
                return new UpstreamFacts(upstream.Name, kind, Endpoint(upstream, $"https://bedrock-runtime.{upstream.Region}.amazonaws.com"), where,
                    "0 days: Amazon Bedrock does not store prompts or answers (model invocation logging is the account's own choice)",
                    "not used to train models; not shared with the model provider", credential, false);
            case UpstreamKind.Vertex:
                return new UpstreamFacts(upstream.Name, kind, Endpoint(upstream, VertexHost(upstream.Region)), $"Google Cloud {upstream.Region} (project {upstream.Project})",
                    "0 days when abuse-monitoring logging and caching are off for the project (Vertex AI zero data retention)",
                    "not used to train models", credential, false);
            case UpstreamKind.Anthropic when IsVendor(upstream):
                return new UpstreamFacts(upstream.Name, kind, Endpoint(upstream, ""), "Anthropic API (the model vendor)",
                    "0–30 days (30 by default; 0 with a zero-data-retention agreement)", "not used for training under commercial terms", credential, false);
            default:
                return new UpstreamFacts(upstream.Name, kind, Endpoint(upstream, ""), $"the organization's server {upstream.Url?.Host}",
                    "none at a vendor (the server's own logs are the organization's)", "none: no vendor sees the data", credential, true);
        }
    }

    private static string VertexHost(string? region) => region switch
    {
        "global" => "https://aiplatform.googleapis.com",
        "us" or "eu" => $"https://aiplatform.{region}.rep.googleapis.com",
        _ => $"https://{region}-aiplatform.googleapis.com",
    };

    private static string Endpoint(UpstreamConfig upstream, string implied) =>
        upstream.Url is { } url ? $"{url.Scheme}://{url.Authority}" : implied;

    private static string CredentialSource(UpstreamConfig upstream) => upstream.Kind switch
    {
        UpstreamKind.Simulated => "none",
        UpstreamKind.Bedrock when upstream.ApiKeyEnv is { } name => $"Bedrock API key from ${name}",
        UpstreamKind.Bedrock => "AWS credential chain (environment, profile, web identity, SSO, container or instance role; at level 2 fetched by the gateway through its connect guard, see upstream.aws_credentials)",
        UpstreamKind.Vertex when upstream.CredentialsFile is { } file => $"Google credential file {file}",
        UpstreamKind.Vertex => "Google application default credentials",
        _ when upstream.ApiKeyEnv is { } name => $"${name}",
        _ => "none (the server takes no key)",
    };

    private static PostureCheck CredentialCheck(UpstreamConfig upstream, Func<string, string?> getEnvironment)
    {
        const string Id = "upstream.credential", Title = "Gateway credential source";
        var source = CredentialSource(upstream);
        if (upstream.Kind == UpstreamKind.Bedrock && upstream.ApiKeyEnv is not null)
        {
            return new PostureCheck(Id, Title, PostureStatus.Unknown, $"{source}: a long-lived bearer token that SigV4 role credentials make unnecessary",
                "use role credentials (drop api_key_env); the SCP from 'airlock aws policy' denies Bedrock API keys", upstream.Name);
        }
        if (upstream.ApiKeyEnv is { } name && upstream.Kind != UpstreamKind.Bedrock)
        {
            return string.IsNullOrEmpty(getEnvironment(name))
                ? new PostureCheck(Id, Title, PostureStatus.Unknown, $"{source}, not set where this report ran", $"set {name} in the gateway's environment (secret store), never in airlock.yaml", upstream.Name)
                : new PostureCheck(Id, Title, PostureStatus.Pass, $"{source} (set; the value is not read into this report)", null, upstream.Name);
        }
        return new PostureCheck(Id, Title, PostureStatus.Pass, source, null, upstream.Name);
    }

    private static IEnumerable<PostureCheck> AuditChecks(AirlockConfig config, PostureInputs inputs)
    {
        if (inputs.Audit is not { } audit)
        {
            var store = config.Audit.Store == AuditStoreKind.Postgres ? $"postgres (connection string from ${config.Audit.PostgresConnectionStringEnv})" : "sqlite";
            yield return new PostureCheck("audit.store", "Audit store reachable", PostureStatus.Unknown, $"{store}: not probed (--offline)", "run airlock posture without --offline where the gateway runs");
            yield break;
        }
        yield return audit.Reachable
            ? new PostureCheck("audit.store", "Audit store reachable", PostureStatus.Pass, audit.Store)
            : new PostureCheck("audit.store", "Audit store reachable", PostureStatus.Fail, $"{audit.Store}: {audit.Evidence}", "fix the audit store configuration (audit.store, data_dir, the connection string variable)");
        if (audit.Reachable)
        {
            yield return audit.Intact
                ? new PostureCheck("audit.chain", "Audit chain verifies", PostureStatus.Pass, audit.Evidence)
                : new PostureCheck("audit.chain", "Audit chain verifies", PostureStatus.Fail, audit.Evidence, "investigate the named record (airlock audit verify); restore the store from a verified export");
        }
    }

    private static PostureCheck RulesCheck(AirlockConfig config, PostureInputs inputs)
    {
        const string Id = "inspection.rules", Title = "Inspection rules load";
        if (!config.Inspection.Enabled)
        {
            return new PostureCheck(Id, Title, PostureStatus.Fail, "inspection.enabled is false: prompts leave unscanned", "set inspection.enabled: true");
        }
        return inputs.Rules switch
        {
            null => new PostureCheck(Id, Title, PostureStatus.Unknown, "not probed", "run airlock posture without --offline"),
            { Loaded: true } rules => new PostureCheck(Id, Title, PostureStatus.Pass, $"{rules.RuleCount} secret rules, rule-pack version {rules.Version}; {rules.Evidence}"),
            var rules => new PostureCheck(Id, Title, PostureStatus.Fail, rules.Evidence, "fix inspection.rule_packs (the gateway refuses to start with this error)"),
        };
    }

    private static PostureCheck ClaudeCodeCheck(ClaudeCodeConfig claude)
    {
        var evidence = $"hook fail_closed {(claude.FailClosed ? "true" : "false")}; {claude.DenyFiles.Count} extra deny_files patterns beside the built-in secret-file list; "
            + $"allowed_mcp_servers {(claude.AllowedMcpServers.Count == 0 ? "none (no allowlist)" : string.Join(", ", claude.AllowedMcpServers))}; "
            + $"cleanup_period_days {claude.CleanupPeriodDays}; session keys {Hours(claude.SessionKeyLifetime)}";
        return claude.FailClosed
            ? new PostureCheck("claude_code.settings", "Claude Code managed settings", PostureStatus.Pass, evidence)
            : new PostureCheck("claude_code.settings", "Claude Code managed settings", PostureStatus.Fail, evidence, "set claude_code.fail_closed: true so an undecidable tool call is denied");
    }

    private static string Hours(TimeSpan span) => span.TotalHours >= 1 ? $"{span.TotalHours:0.#} h" : $"{span.TotalMinutes:0} min";

    private static List<PostureCheck> Checklist(AirlockConfig config, PostureInputs inputs, List<PostureCheck> checks, List<UpstreamFacts> upstreams)
    {
        var list = new List<PostureCheck>();
        var routes = string.Join("; ", config.Routes.Select(r => $"{string.Join(" ", r.Models)} → {string.Join(" → ", new[] { r.Upstream }.Concat(r.Fallbacks))}"));
        var egressFailures = inputs.EgressChecks.Where(c => c.Status == PostureStatus.Fail).Select(c => c.Id + (c.Upstream is null ? "" : $" ({c.Upstream})")).ToList();
        list.Add(config.Level is < 1 or > 3 || config.Routes.Count == 0
            ? new PostureCheck("checklist.access_route", "Access route decided", PostureStatus.Fail,
                config.Level is < 1 or > 3 ? "no data-egress level declared" : "no routes", "declare level: 1, 2 or 3 and the routes in airlock.yaml")
            : egressFailures.Count > 0
                ? new PostureCheck("checklist.access_route", "Access route decided", PostureStatus.Fail, $"level {config.Level}, but egress checks fail: {string.Join(", ", egressFailures)}", "fix the failing egress checks above")
                : new PostureCheck("checklist.access_route", "Access route decided", PostureStatus.Pass, $"level {config.Level}; routes: {routes}"));

        var bedrock = config.Upstreams.Where(u => u.Kind == UpstreamKind.Bedrock).Select(u => u.Name).ToList();
        list.Add(bedrock.Count > 0
            ? new PostureCheck("checklist.permissions", "Permissions", PostureStatus.Unknown,
                $"developers use per-user Airlock keys; upstream credentials stay in the gateway; the IAM policy of the role behind {string.Join(", ", bedrock)} is not visible from here",
                "attach the policies from 'airlock aws policy' and check what is attached with 'airlock aws lint'")
            : new PostureCheck("checklist.permissions", "Permissions", PostureStatus.Pass,
                "developers use per-user Airlock keys (auditor keys cannot call models); upstream credentials stay in the gateway"));

        var inspection = config.Inspection;
        var rulesLoaded = inputs.Rules?.Loaded;
        list.Add(!inspection.Enabled || !inspection.FailClosed || rulesLoaded == false
            ? new PostureCheck("checklist.input_restrictions", "Input restrictions", PostureStatus.Fail,
                !inspection.Enabled ? "inspection is off" : !inspection.FailClosed ? "inspection.fail_closed is false: a failed inspection lets the request through" : "the rule packs do not load",
                "set inspection.enabled: true and inspection.fail_closed: true; fix the rule packs")
            : new PostureCheck("checklist.input_restrictions", "Input restrictions", rulesLoaded == true ? PostureStatus.Pass : PostureStatus.Unknown,
                $"requests and answers inspected (secrets{(inspection.PersonalData.Enabled ? ", personal data" : "")}{(inspection.Terms.Count > 0 ? $", {inspection.Terms.Count} organization term lists" : "")}); fail closed; "
                + $"{inspection.Actions.Count} action rules; Claude Code deny rules for secret files",
                rulesLoaded == true ? null : "run without --offline to load the rule packs"));

        var chain = checks.FirstOrDefault(c => c.Id == "audit.chain");
        var store = checks.First(c => c.Id == "audit.store");
        list.Add(store.Status == PostureStatus.Fail || chain?.Status == PostureStatus.Fail
            ? new PostureCheck("checklist.audit_logging", "Audit logging", PostureStatus.Fail, (chain ?? store).Evidence, (chain ?? store).Fix)
            : chain?.Status == PostureStatus.Pass
                ? new PostureCheck("checklist.audit_logging", "Audit logging", PostureStatus.Pass,
                    $"every request and tool event recorded in a hash chain with signed checkpoints ({config.Audit.Store.ToString().ToLowerInvariant()}, on store failure: {config.Audit.OnStoreFailure.ToString().ToLowerInvariant()}); {chain.Evidence}")
                : new PostureCheck("checklist.audit_logging", "Audit logging", PostureStatus.Unknown, store.Evidence, store.Fix));

        var retention = string.Join("; ", upstreams.Where(u => u.Kind != "simulated").Select(u => $"{u.Upstream}: {u.Retention}"));
        list.Add(config.ClaudeCode.CleanupPeriodDays > MaxCleanupDays
            ? new PostureCheck("checklist.retention", "Retention", PostureStatus.Fail,
                $"Claude Code keeps transcripts {config.ClaudeCode.CleanupPeriodDays} days on developer machines; {retention}", $"set claude_code.cleanup_period_days to {MaxCleanupDays} or less")
            : new PostureCheck("checklist.retention", "Retention", PostureStatus.Pass,
                $"transcripts on developer machines {config.ClaudeCode.CleanupPeriodDays} days; audit stores metadata only (no prompt content); vendors: {retention}"));

        list.Add(config.ClaudeCode.SessionKeyLifetime > MaxSessionKeyLifetime
            ? new PostureCheck("checklist.key_rotation", "Key rotation", PostureStatus.Fail,
                $"apiKeyHelper session keys live {Hours(config.ClaudeCode.SessionKeyLifetime)}", $"set claude_code.session_key_ttl to {MaxSessionKeyLifetime.TotalHours:0}h or less")
            : new PostureCheck("checklist.key_rotation", "Key rotation", PostureStatus.Pass,
                $"developers get session keys through apiKeyHelper that expire after {Hours(config.ClaudeCode.SessionKeyLifetime)} and never outlive their parent key; revocation holds from the next request"));

        list.Add(config.ClaudeCode.AllowedMcpServers.Count == 0
            ? new PostureCheck("checklist.mcp_allowlist", "MCP allowlist", PostureStatus.Fail, "claude_code.allowed_mcp_servers is empty: developers may add any MCP server",
                "list the approved servers in claude_code.allowed_mcp_servers and run 'airlock claude-code setup'")
            : new PostureCheck("checklist.mcp_allowlist", "MCP allowlist", PostureStatus.Pass, $"allowedMcpServers: {string.Join(", ", config.ClaudeCode.AllowedMcpServers)}"));

        list.Add(config.ClaudeCode.FailClosed
            ? new PostureCheck("checklist.endpoint_settings", "Endpoint settings", PostureStatus.Pass,
                "managed settings from 'airlock claude-code setup': gateway URL and key helper, telemetry off, secret-file deny rules, bypass mode disabled, hook fail closed")
            : new PostureCheck("checklist.endpoint_settings", "Endpoint settings", PostureStatus.Fail, "claude_code.fail_closed is false: the hook lets undecidable tool calls through",
                "set claude_code.fail_closed: true and re-run 'airlock claude-code setup'"));

        list.Add(ReviewGate(config.Source));
        return list;
    }

    private static PostureCheck ReviewGate(string source)
    {
        const string Id = "checklist.review_gates", Title = "Review gates";
        if (!File.Exists(source))
        {
            return new PostureCheck(Id, Title, PostureStatus.Fail, $"no configuration file ({source})", "write airlock.yaml, keep it in a reviewed repository, and pass it with --config");
        }
        for (var dir = Path.GetDirectoryName(Path.GetFullPath(source)); dir is not null; dir = Path.GetDirectoryName(dir))
        {
            if (Directory.Exists(Path.Combine(dir, ".git")) || File.Exists(Path.Combine(dir, ".git")))
            {
                return new PostureCheck(Id, Title, PostureStatus.Pass, $"{source} lives in the git repository at {dir}; this report's exit code gates the pipeline");
            }
        }
        return new PostureCheck(Id, Title, PostureStatus.Unknown, $"{source} is not inside a git repository",
            "keep airlock.yaml in a repository with required reviews, and run 'airlock posture' in the deployment pipeline");
    }

    private static List<MatrixRow> Matrix(AirlockConfig config, List<UpstreamFacts> upstreams)
    {
        string Names(Func<UpstreamConfig, bool> predicate)
        {
            var names = config.Upstreams.Where(predicate).Select(u => u.Name).ToList();
            return names.Count == 0 ? "none" : string.Join(", ", names);
        }
        var cloud = config.Upstreams.Where(u => u.Kind is UpstreamKind.Bedrock or UpstreamKind.Vertex).ToList();
        var privateCloud = cloud.Where(u => u.Url is { } url && (url.Host.Contains(".vpce.", StringComparison.OrdinalIgnoreCase) || url.Host.Contains("p.googleapis.com", StringComparison.OrdinalIgnoreCase))).Select(u => u.Name).ToList();
        return
        [
            new("What it means", "no code goes to the model vendor directly", "no code crosses the public internet", "no external connectivity at all",
                config.Level is >= 1 and <= 3 ? $"level {config.Level} declared" : "no level declared"),
            new("Model vendor's API (api.anthropic.com)", "refused at startup", "refused", "refused", $"vendor upstreams: {Names(IsVendor)}"),
            new("Cloud provider endpoints (Bedrock, Vertex)", "allowed", "only through private endpoints (PrivateLink, Private Service Connect)", "refused",
                cloud.Count == 0 ? "none" : $"{string.Join(", ", cloud.Select(u => u.Name))}; private endpoint host: {(privateCloud.Count == 0 ? "none" : string.Join(", ", privateCloud))}"),
            new("On-premises model servers", "allowed", "allowed (private addresses)", "the only upstreams allowed", $"{Names(u => IsOnPremises(u.Kind))}"),
            new("Public internet on the path", "allowed (TLS)", "refused: every resolved address must be private, checked at each connect", "refused: only configured on-premises addresses are dialed",
                "see the upstream.addresses checks"),
            new("Cloud credentials in the gateway", "yes", "yes", "none initialised", $"{Names(u => u.Kind is UpstreamKind.Bedrock or UpstreamKind.Vertex)}"),
            new("Vendor retention of prompts", "none (Bedrock, Vertex); on-prem none", "none", "none",
                string.Join("; ", upstreams.Where(u => u.Kind != "simulated").Select(u => $"{u.Upstream}: {u.Retention.Split(':')[0]}"))),
        ];
    }
}
