using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Airlock.Core.Configuration;

namespace Airlock.Core.Aws.Policies;

/// <summary>Inputs of <see cref="BedrockPolicyGenerator"/> besides the configuration.</summary>
public sealed record BedrockPolicyOptions
{
    /// <summary>Models, account and geographies (see <see cref="BedrockTargetOptions"/>).</summary>
    public BedrockTargetOptions Targets { get; init; } = new();

    /// <summary>The gateway's IAM role ARN: the only principal the VPC endpoint policy lets through. Null: any principal of
    /// <see cref="BedrockTargetOptions.AccountId"/> (or, without it, any principal, which <c>aws lint</c> reports).</summary>
    public string? RoleArn { get; init; }

    /// <summary>VPC endpoint ids (<c>vpce-…</c>) replacing those read from the upstreams' URLs (needed with private DNS, where the
    /// URL is the public host name).</summary>
    public IReadOnlyList<string> VpcEndpointIds { get; init; } = [];
}

/// <summary>The three generated policies and what the reader should know about them.</summary>
/// <param name="RolePolicy">Identity policy for the gateway's role.</param>
/// <param name="EndpointPolicy">Policy of the Bedrock Runtime VPC interface endpoint.</param>
/// <param name="ServiceControlPolicy">Organization SCP: no Bedrock invocation outside the endpoint, no Bedrock API keys.</param>
/// <param name="VpcEndpointIds">The endpoint ids the conditions name (empty: none configured).</param>
/// <param name="Targets">What the policies allow.</param>
/// <param name="Notes">Facts and caveats, one line each.</param>
public sealed record BedrockPolicySet(
    JsonObject RolePolicy, JsonObject EndpointPolicy, JsonObject? ServiceControlPolicy,
    IReadOnlyList<string> VpcEndpointIds, IReadOnlyList<BedrockInvocationTarget> Targets, IReadOnlyList<string> Notes)
{
    /// <summary>File names <c>airlock aws policy --out DIR</c> writes, in this order.</summary>
    public const string RolePolicyFile = "gateway-role-policy.json", EndpointPolicyFile = "vpc-endpoint-policy.json", ServiceControlPolicyFile = "bedrock-scp.json";

    /// <summary>Writes a policy as indented JSON with a final newline (stable: same configuration, same bytes).</summary>
    public static string ToJson(JsonObject policy) => policy.ToJsonString(s_indented) + "\n";

    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };
}

/// <summary>Thrown when the configuration cannot yield a correct policy; the message lists every reason.</summary>
public sealed class BedrockPolicyException(string message) : Exception(message);

/// <summary>
/// <c>airlock aws policy</c>: least-privilege AWS policies from the Bedrock upstreams of <c>airlock.yaml</c>.
/// <list type="bullet">
/// <item>Role policy: only <c>bedrock:InvokeModel</c> and <c>bedrock:InvokeModelWithResponseStream</c>, on the exact foundation-model and
/// inference-profile ARNs; the models behind a cross-Region profile in each destination region, only through that profile
/// (<c>bedrock:InferenceProfileArn</c>); <c>aws:SourceVpce</c> on direct calls when every Bedrock upstream uses a VPC endpoint.</item>
/// <item>VPC endpoint policy: the same actions and ARNs, for the gateway's role only.</item>
/// <item>SCP: deny invocation outside the endpoint(s), deny creating Bedrock API keys (<c>iam:CreateServiceSpecificCredential</c> with
/// <c>iam:ServiceSpecificCredentialServiceName</c> = <c>bedrock.amazonaws.com</c>) and using them (<c>bedrock:CallWithBearerToken</c>,
/// <c>bedrock-mantle:CallWithBearerToken</c>): Bedrock user guide, "Control permissions for generating and using Amazon Bedrock API keys",
/// and aws-samples/service-control-policy-examples "Deny-Bedrock-api-keys".</item>
/// </list>
/// </summary>
public static partial class BedrockPolicyGenerator
{
    /// <summary>The two actions the gateway performs (Bedrock Runtime InvokeModel / InvokeModelWithResponseStream).</summary>
    public static readonly IReadOnlyList<string> InvokeActions = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"];

    /// <summary>Generates the policies; throws <see cref="BedrockPolicyException"/> listing every problem when it cannot.</summary>
    public static BedrockPolicySet Generate(AirlockConfig config, BedrockPolicyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        options ??= new BedrockPolicyOptions();
        var bedrock = config.Upstreams.Where(u => u.Kind == UpstreamKind.Bedrock).ToList();
        var problems = new List<string>();
        if (bedrock.Count == 0)
        {
            problems.Add($"{config.Source}: no upstream of kind bedrock: there is nothing to allow");
        }
        var targets = BedrockInvocationTargets.From(config, options.Targets);
        problems.AddRange(targets.Errors);
        if (bedrock.Count > 0 && targets.Targets.Count == 0 && targets.Errors.Count == 0)
        {
            problems.Add("no Bedrock model id is named by the configuration (model_map values, route patterns) or --model");
        }
        foreach (var id in options.VpcEndpointIds.Where(id => !VpcEndpointIdPattern().IsMatch(id)))
        {
            problems.Add($"'{id}' is not a VPC endpoint id (vpce- followed by 8 to 17 hex digits)");
        }
        if (options.RoleArn is not null && !RoleArnPattern().IsMatch(options.RoleArn))
        {
            problems.Add($"'{options.RoleArn}' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)");
        }
        if (options.Targets.AccountId is not null && !AccountPattern().IsMatch(options.Targets.AccountId))
        {
            problems.Add($"'{options.Targets.AccountId}' is not an AWS account id (12 digits)");
        }
        if (problems.Count > 0)
        {
            throw new BedrockPolicyException(string.Join(Environment.NewLine, problems));
        }

        var notes = new List<string>(targets.Notes);
        var endpoints = VpcEndpoints(bedrock, options, notes);
        var invoked = targets.Targets.Select(t => t.InvokedArn).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var behindProfiles = targets.Targets.Where(t => t.ModelArnsBehindProfile.Count > 0)
            .GroupBy(t => t.InvokedArn, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        if (options.Targets.AccountId is null && targets.Targets.Any(t => t.Reference.Kind != BedrockModelReferenceKind.FoundationModel && t.Reference.Account is null))
        {
            notes.Add($"inference-profile ARNs use {BedrockInvocationTargets.AccountVariable} (the calling role's account); pass --account-id to name it");
        }
        if (targets.Targets.Any(t => t.Reference.Kind == BedrockModelReferenceKind.ApplicationInferenceProfile))
        {
            notes.Add("application inference profiles hide their models: allow them with --model (the foundation model ids or ARNs behind each profile)");
        }

        return new BedrockPolicySet(
            RolePolicy(invoked, behindProfiles, endpoints),
            EndpointPolicy(invoked, behindProfiles, options, notes),
            endpoints.Count > 0 ? ServiceControlPolicy(endpoints) : null,
            endpoints, targets.Targets, notes);
    }

    private static List<string> VpcEndpoints(List<UpstreamConfig> bedrock, BedrockPolicyOptions options, List<string> notes)
    {
        if (options.VpcEndpointIds.Count > 0)
        {
            return [.. options.VpcEndpointIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        }
        var found = new SortedSet<string>(StringComparer.Ordinal);
        var publicOnes = new List<string>();
        foreach (var upstream in bedrock)
        {
            var id = upstream.Url is null ? null : VpcEndpointId(upstream.Url.Host);
            if (id is null)
            {
                publicOnes.Add(upstream.Name);
            }
            else
            {
                found.Add(id);
            }
        }
        if (publicOnes.Count > 0)
        {
            notes.Add($"upstream(s) {string.Join(", ", publicOnes.Select(n => $"'{n}'"))} reach Bedrock without a VPC endpoint host name: "
                + "no aws:SourceVpce condition and no SCP are generated (give the endpoint with --vpce-id when private DNS hides it)");
            return [];
        }
        return [.. found];
    }

    /// <summary>The endpoint id in a VPC endpoint DNS name (<c>vpce-0a1b2c3d-x1y2z3w4.bedrock-runtime.us-east-1.vpce.amazonaws.com</c> →
    /// <c>vpce-0a1b2c3d</c>; the part after the id is the DNS suffix AWS adds), or null when the host is not one.</summary>
    public static string? VpcEndpointId(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var match = VpcEndpointHostPattern().Match(host);
        return match.Success ? match.Groups["id"].Value.ToLowerInvariant() : null;
    }

    private static JsonObject RolePolicy(List<string> invoked, List<IGrouping<string, BedrockInvocationTarget>> behindProfiles, List<string> endpoints)
    {
        var statements = new JsonArray
        {
            Statement("InvokeAllowedModelsAndProfiles", "Allow", null, Strings(InvokeActions), Strings(invoked),
                endpoints.Count > 0 ? Condition("StringEquals", "aws:SourceVpce", endpoints) : null),
        };
        var index = 1;
        foreach (var profile in behindProfiles)
        {
            // The foundation models a profile routes to, authorized only when the request named that profile.
            var models = profile.SelectMany(t => t.ModelArnsBehindProfile).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            statements.Add(Statement($"ModelsBehindProfile{index++}", "Allow", null, Strings(InvokeActions), Strings(models),
                Condition("StringEquals", "bedrock:InferenceProfileArn", [profile.Key])));
        }
        return Policy(statements);
    }

    private static JsonObject EndpointPolicy(List<string> invoked, List<IGrouping<string, BedrockInvocationTarget>> behindProfiles, BedrockPolicyOptions options, List<string> notes)
    {
        var resources = invoked.Concat(behindProfiles.SelectMany(g => g.SelectMany(t => t.ModelArnsBehindProfile)))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        JsonNode principal;
        JsonObject? condition = null;
        if (options.RoleArn is not null)
        {
            principal = new JsonObject { ["AWS"] = options.RoleArn };
        }
        else
        {
            principal = "*";
            if (options.Targets.AccountId is not null)
            {
                condition = Condition("StringEquals", "aws:PrincipalAccount", [options.Targets.AccountId]);
            }
            notes.Add("the VPC endpoint policy admits " + (condition is null ? "any principal" : $"any principal of account {options.Targets.AccountId}")
                + ": pass --role-arn to admit only the gateway's role");
        }
        return Policy([Statement("GatewayInvokesAllowedModels", "Allow", principal, Strings(InvokeActions), Strings(resources), condition)]);
    }

    private static JsonObject ServiceControlPolicy(List<string> endpoints)
    {
        // Two deny statements for invocation outside the endpoint: profiles and direct model calls. A model reached through a
        // cross-Region profile is authorized again in the destination region with bedrock:InferenceProfileArn set; the Null
        // condition keeps that second authorization out of the deny, so cross-Region inference keeps working while a direct call
        // (or a profile call) from outside the endpoint is refused.
        // That the key is present on the destination-region authorization of the foundation model is documented, not
        // observed here: the AWS Knowledge Center article "How do I resolve the AccessDeniedException error that I get when
        // I use an Amazon Bedrock cross-Region inference profile in an Organizations account?"
        // (https://repost.aws/knowledge-center/bedrock-access-denied-exception) gives an SCP that denies InvokeModel on
        // arn:aws:bedrock:*::foundation-model/* unless bedrock:InferenceProfileArn is an inference-profile ARN (ArnNotLike),
        // and the Bedrock user guide ("Prerequisites for inference profiles") restricts foundation-model access to calls
        // through a profile with the same key. Not verified against a real AWS account (no account in this project).
        var notThroughEndpoint = new JsonObject
        {
            ["StringNotEquals"] = new JsonObject { ["aws:SourceVpce"] = Strings(endpoints) },
            ["BoolIfExists"] = new JsonObject { ["aws:ViaAWSService"] = "false" },
        };
        var directModelCall = notThroughEndpoint.DeepClone().AsObject();
        directModelCall["Null"] = new JsonObject { ["bedrock:InferenceProfileArn"] = "true" };
        return Policy(
        [
            Statement("DenyProfileInvocationOutsideEndpoint", "Deny", null, Strings(["bedrock:InvokeModel*"]),
                Strings(["arn:*:bedrock:*:*:inference-profile/*", "arn:*:bedrock:*:*:application-inference-profile/*"]), notThroughEndpoint),
            Statement("DenyDirectModelInvocationOutsideEndpoint", "Deny", null, Strings(["bedrock:InvokeModel*"]),
                Strings(["arn:*:bedrock:*::foundation-model/*"]), directModelCall),
            Statement("DenyBedrockApiKeyCreation", "Deny", null, Strings(["iam:CreateServiceSpecificCredential"]), Strings(["*"]),
                Condition("StringEquals", "iam:ServiceSpecificCredentialServiceName", ["bedrock.amazonaws.com"])),
            Statement("DenyBedrockApiKeyUse", "Deny", null, Strings(["bedrock:CallWithBearerToken", "bedrock-mantle:CallWithBearerToken"]), Strings(["*"]), null),
        ]);
    }

    private static JsonObject Policy(JsonArray statements) => new() { ["Version"] = "2012-10-17", ["Statement"] = statements };

    private static JsonObject Statement(string sid, string effect, JsonNode? principal, JsonArray actions, JsonArray resources, JsonObject? condition)
    {
        var statement = new JsonObject { ["Sid"] = sid, ["Effect"] = effect };
        if (principal is not null)
        {
            statement["Principal"] = principal;
        }
        statement["Action"] = actions;
        statement["Resource"] = resources;
        if (condition is not null)
        {
            statement["Condition"] = condition;
        }
        return statement;
    }

    private static JsonObject Condition(string op, string key, List<string> values) =>
        new() { [op] = new JsonObject { [key] = values.Count == 1 ? JsonValue.Create(values[0]) : Strings(values) } };

    private static JsonArray Strings(IEnumerable<string> values) => [.. values.Select(v => (JsonNode?)JsonValue.Create(v))];

    // vpce-<8 or 17 hex>-<suffix>[-<zone>].bedrock-runtime.<region>.vpce.amazonaws.com (regional and zonal names).
    [GeneratedRegex(@"^(?<id>vpce-[0-9a-f]{8,17})-[0-9a-z]+(-[a-z]{2}(-[a-z]+)+-[0-9]{1,2}[a-z])?\.bedrock-runtime\.[a-z]{2}(-[a-z]+)+-[0-9]{1,2}\.vpce\.amazonaws\.com$",
        RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex VpcEndpointHostPattern();

    [GeneratedRegex(@"^vpce-[0-9a-f]{8,17}$", RegexOptions.CultureInvariant)]
    private static partial Regex VpcEndpointIdPattern();

    [GeneratedRegex(@"^arn:aws(-us-gov|-cn)?:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$", RegexOptions.CultureInvariant)]
    private static partial Regex RoleArnPattern();

    [GeneratedRegex(@"^[0-9]{12}$", RegexOptions.CultureInvariant)]
    private static partial Regex AccountPattern();
}
