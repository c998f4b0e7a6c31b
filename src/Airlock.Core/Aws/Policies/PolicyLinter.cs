using System.Text.Json;

namespace Airlock.Core.Aws.Policies;

/// <summary>How bad a finding is.</summary>
public enum PolicyFindingSeverity
{
    /// <summary>Narrows nothing it should: worth fixing.</summary>
    Medium,

    /// <summary>Grants far more than a gateway needs, or lets a credential around it.</summary>
    High,
}

/// <summary>One over-broad statement.</summary>
/// <param name="File">The policy file.</param>
/// <param name="StatementIndex">Zero-based index in <c>Statement</c>.</param>
/// <param name="Sid">The statement's <c>Sid</c>, if any.</param>
/// <param name="Severity">How bad.</param>
/// <param name="Code">Stable id: <c>wildcard-action</c>, <c>bedrock-star</c>, <c>wildcard-resource</c>, <c>not-action</c>, <c>not-resource</c>,
/// <c>missing-source-vpce</c>, <c>api-keys-allowed</c>, <c>public-principal</c>.</param>
/// <param name="Message">What is wrong.</param>
/// <param name="Fix">What to do.</param>
public sealed record PolicyFinding(string File, int StatementIndex, string? Sid, PolicyFindingSeverity Severity, string Code, string Message, string Fix)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"{File}: Statement[{StatementIndex}]{(Sid is null ? "" : $" ({Sid})")}: {(Severity == PolicyFindingSeverity.High ? "high" : "medium")} {Code}: {Message}. Fix: {Fix}";
}

/// <summary>The policy file is not a policy: not JSON, or JSON without the shape of an IAM policy. The message has the position.</summary>
public sealed class PolicyFormatException(string message) : Exception(message);

/// <summary>
/// <c>airlock aws lint</c>: finds the statements of IAM, resource or SCP policies that grant a Bedrock gateway more than it
/// needs. Only <c>Allow</c> statements can be over-broad; a <c>Deny</c> is never flagged. Resource-based statements (with a
/// <c>Principal</c>, e.g. a VPC endpoint policy) are exempt from <c>missing-source-vpce</c>: an endpoint policy only ever sees
/// traffic through its endpoint. A statement scoped by <c>bedrock:InferenceProfileArn</c> is exempt too: it only authorizes the
/// models behind a profile whose own invocation the other statements govern.
/// </summary>
public static class PolicyLinter
{
    private static readonly string[] s_invokeActions = ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"];
    private static readonly string[] s_apiKeyUse = ["bedrock:CallWithBearerToken", "bedrock-mantle:CallWithBearerToken"];
    private const string CreateCredential = "iam:CreateServiceSpecificCredential";

    /// <summary>Lints <paramref name="json"/> read from <paramref name="file"/>.</summary>
    /// <exception cref="PolicyFormatException">Not JSON, or not shaped like a policy (the message names file, line and column or the element).</exception>
    public static IReadOnlyList<PolicyFinding> Lint(string file, string json)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow, MaxDepth = 64 });
        }
        catch (JsonException ex)
        {
            // JsonException positions are zero-based; editors count from one.
            var line = (ex.LineNumber ?? 0) + 1;
            var column = (ex.BytePositionInLine ?? 0) + 1;
            throw new PolicyFormatException($"{file}:{line}:{column}: not valid JSON: {FirstSentence(ex.Message)}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new PolicyFormatException($"{file}: a policy is a JSON object, this is {Describe(root.ValueKind)}");
            }
            if (!root.TryGetProperty("Statement", out var statementElement))
            {
                throw new PolicyFormatException($"{file}: no \"Statement\" element");
            }
            var statements = statementElement.ValueKind switch
            {
                JsonValueKind.Array => statementElement.EnumerateArray().ToList(),
                JsonValueKind.Object => [statementElement],
                _ => throw new PolicyFormatException($"{file}: \"Statement\" must be an object or an array of objects, it is {Describe(statementElement.ValueKind)}"),
            };
            var findings = new List<PolicyFinding>();
            for (var i = 0; i < statements.Count; i++)
            {
                LintStatement(file, i, statements[i], findings);
            }
            return findings;
        }
    }

    private static void LintStatement(string file, int index, JsonElement statement, List<PolicyFinding> findings)
    {
        var where = $"{file}: Statement[{index}]";
        if (statement.ValueKind != JsonValueKind.Object)
        {
            throw new PolicyFormatException($"{where} must be an object, it is {Describe(statement.ValueKind)}");
        }
        var sid = statement.TryGetProperty("Sid", out var sidElement) && sidElement.ValueKind == JsonValueKind.String ? sidElement.GetString() : null;
        if (!statement.TryGetProperty("Effect", out var effectElement) || effectElement.ValueKind != JsonValueKind.String
            || effectElement.GetString() is not ("Allow" or "Deny"))
        {
            throw new PolicyFormatException($"{where}: \"Effect\" must be \"Allow\" or \"Deny\"");
        }
        var actions = StringList(statement, "Action", where);
        var notActions = StringList(statement, "NotAction", where);
        var resources = StringList(statement, "Resource", where);
        var notResources = StringList(statement, "NotResource", where);
        if (actions is null == notActions is null)
        {
            throw new PolicyFormatException($"{where}: exactly one of \"Action\" and \"NotAction\" is required");
        }
        var hasPrincipal = statement.TryGetProperty("Principal", out var principal);
        if (resources is null && notResources is null && !hasPrincipal)
        {
            throw new PolicyFormatException($"{where}: \"Resource\" or \"NotResource\" is required");
        }
        var conditionKeys = ConditionKeys(statement, where);
        if (effectElement.GetString() != "Allow")
        {
            return;
        }

        void Add(PolicyFindingSeverity severity, string code, string message, string fix) =>
            findings.Add(new PolicyFinding(file, index, sid, severity, code, message, fix));

        if (notActions is not null)
        {
            Add(PolicyFindingSeverity.High, "not-action", "Allow with NotAction grants every action except those listed, including ones added later",
                "list the allowed actions in \"Action\" (bedrock:InvokeModel, bedrock:InvokeModelWithResponseStream)");
        }
        if (notResources is not null)
        {
            Add(PolicyFindingSeverity.High, "not-resource", "Allow with NotResource grants every resource except those listed",
                "list the model and inference-profile ARNs in \"Resource\" (airlock aws policy writes them)");
        }
        foreach (var action in actions ?? [])
        {
            if (action == "*")
            {
                Add(PolicyFindingSeverity.High, "wildcard-action", "Action \"*\" allows every action of every service",
                    "allow only bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream");
            }
            else if (string.Equals(action, "bedrock:*", StringComparison.OrdinalIgnoreCase))
            {
                Add(PolicyFindingSeverity.High, "bedrock-star", "\"bedrock:*\" allows every Bedrock action (agents, knowledge bases, model customization, API keys)",
                    "allow only bedrock:InvokeModel and bedrock:InvokeModelWithResponseStream");
            }
            else if (action.Contains('*', StringComparison.Ordinal) || action.Contains('?', StringComparison.Ordinal))
            {
                Add(PolicyFindingSeverity.Medium, "wildcard-action", $"\"{action}\" is a wildcard: it also grants actions added to the service later",
                    "name each action (bedrock:InvokeModel, bedrock:InvokeModelWithResponseStream)");
            }
        }
        foreach (var resource in resources ?? [])
        {
            if (resource == "*")
            {
                Add(PolicyFindingSeverity.High, "wildcard-resource", "Resource \"*\" applies the actions to every resource",
                    "list the exact foundation-model and inference-profile ARNs (airlock aws policy)");
            }
            else if (resource.Contains('*', StringComparison.Ordinal) || resource.Contains('?', StringComparison.Ordinal))
            {
                var (what, fix) = WildcardArn(resource);
                Add(PolicyFindingSeverity.Medium, "wildcard-resource", $"\"{resource}\" is a wildcard ARN: it matches {what} not reviewed", fix);
            }
        }
        var grants = (string concrete) => actions is null || actions.Any(a => ActionMatches(a, concrete));
        if (s_apiKeyUse.Any(grants))
        {
            Add(PolicyFindingSeverity.High, "api-keys-allowed", "the statement allows bedrock:CallWithBearerToken: Bedrock API keys (bearer tokens) work, bypassing SigV4 and role sessions",
                "remove it, and attach the SCP from airlock aws policy (denies bedrock:CallWithBearerToken)");
        }
        if (grants(CreateCredential) && !RestrictsCredentialService(statement))
        {
            Add(PolicyFindingSeverity.High, "api-keys-allowed", "the statement allows iam:CreateServiceSpecificCredential: long-term Bedrock API keys can be created",
                "remove it, or add a condition iam:ServiceSpecificCredentialServiceName naming only non-Bedrock services");
        }
        if (!hasPrincipal && s_invokeActions.Any(grants)
            && !conditionKeys.Contains("aws:sourcevpce") && !conditionKeys.Contains("aws:sourcevpc") && !conditionKeys.Contains("bedrock:inferenceprofilearn"))
        {
            Add(PolicyFindingSeverity.Medium, "missing-source-vpce", "Bedrock invocation is allowed from anywhere: no aws:SourceVpce condition",
                "add \"Condition\": {\"StringEquals\": {\"aws:SourceVpce\": \"vpce-…\"}} naming the Bedrock Runtime VPC endpoint");
        }
        if (hasPrincipal && IsEveryone(principal) && conditionKeys.Count == 0)
        {
            Add(PolicyFindingSeverity.Medium, "public-principal", "Principal \"*\" without a condition admits any AWS principal",
                "name the gateway's role ARN as Principal, or add an aws:PrincipalAccount condition");
        }
    }

    /// <summary>IAM action matching: case-insensitive, <c>*</c> any run, <c>?</c> one character.</summary>
    public static bool ActionMatches(string pattern, string action)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        ArgumentNullException.ThrowIfNull(action);
        return Match(pattern.AsSpan(), action.AsSpan());

        static bool Match(ReadOnlySpan<char> p, ReadOnlySpan<char> s)
        {
            int pi = 0, si = 0, star = -1, mark = 0;
            while (si < s.Length)
            {
                if (pi < p.Length && (p[pi] == '?' || char.ToLowerInvariant(p[pi]) == char.ToLowerInvariant(s[si])))
                {
                    pi++;
                    si++;
                }
                else if (pi < p.Length && p[pi] == '*')
                {
                    star = pi++;
                    mark = si;
                }
                else if (star >= 0)
                {
                    pi = star + 1;
                    si = ++mark;
                }
                else
                {
                    return false;
                }
            }
            while (pi < p.Length && p[pi] == '*')
            {
                pi++;
            }
            return pi == p.Length;
        }
    }

    /// <summary>
    /// What a wildcard ARN reaches, named by the parts that hold the wildcard (ARN format
    /// <c>arn:partition:service:region:account:resource</c>, AWS IAM User Guide, "IAM ARNs"), and the fix. Only Bedrock
    /// ARNs are about models; any other service's ARN is named as that service's resources.
    /// </summary>
    private static (string What, string Fix) WildcardArn(string resource)
    {
        var parts = resource.Split(':', 6);
        static bool Wild(string part) => part.Contains('*', StringComparison.Ordinal) || part.Contains('?', StringComparison.Ordinal);
        if (parts.Length < 6 || parts[0] != "arn")
        {
            return ("resources", "replace it with the exact ARNs the statement needs");
        }
        var bedrock = string.Equals(parts[2], "bedrock", StringComparison.OrdinalIgnoreCase);
        var named = new List<string>();
        if (Wild(parts[2]))
        {
            named.Add("services");
        }
        if (Wild(parts[5]))
        {
            named.Add(bedrock ? "models and inference profiles" : $"{parts[2]} resources");
        }
        if (Wild(parts[3]))
        {
            named.Add("regions");
        }
        if (Wild(parts[4]))
        {
            named.Add("accounts");
        }
        if (Wild(parts[1]))
        {
            named.Add("partitions");
        }
        var what = named.Count switch
        {
            0 => "resources",
            1 => named[0],
            _ => string.Join(", ", named[..^1]) + " or " + named[^1],
        };
        return (what, bedrock
            ? "replace it with the exact ARNs of the allowed models and profiles in each region"
            : $"replace it with the exact {parts[2]} ARNs the statement needs");
    }

    private static bool RestrictsCredentialService(JsonElement statement)
    {
        // Allowed only for named services, none of them Bedrock (StringEquals / StringLike on the service name).
        if (!statement.TryGetProperty("Condition", out var condition) || condition.ValueKind != JsonValueKind.Object)
        {
            return false;
        }
        foreach (var op in condition.EnumerateObject())
        {
            if (op.Name is not ("StringEquals" or "StringLike") || op.Value.ValueKind != JsonValueKind.Object)
            {
                continue;
            }
            foreach (var key in op.Value.EnumerateObject())
            {
                if (!string.Equals(key.Name, "iam:ServiceSpecificCredentialServiceName", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }
                var values = key.Value.ValueKind == JsonValueKind.Array ? key.Value.EnumerateArray().Select(v => v.ToString()).ToList() : [key.Value.ToString()];
                return values.All(v => !ActionMatches(v, "bedrock.amazonaws.com"));
            }
        }
        return false;
    }

    private static bool IsEveryone(JsonElement principal) =>
        principal.ValueKind == JsonValueKind.String && principal.GetString() == "*"
        || principal.ValueKind == JsonValueKind.Object && principal.TryGetProperty("AWS", out var aws)
            && (aws.ValueKind == JsonValueKind.String ? aws.GetString() == "*" : aws.ValueKind == JsonValueKind.Array && aws.EnumerateArray().Any(v => v.GetString() == "*"));

    private static HashSet<string> ConditionKeys(JsonElement statement, string where)
    {
        var keys = new HashSet<string>(StringComparer.Ordinal);
        if (!statement.TryGetProperty("Condition", out var condition))
        {
            return keys;
        }
        if (condition.ValueKind != JsonValueKind.Object)
        {
            throw new PolicyFormatException($"{where}: \"Condition\" must be an object of operators, it is {Describe(condition.ValueKind)}");
        }
        foreach (var op in condition.EnumerateObject())
        {
            if (op.Value.ValueKind != JsonValueKind.Object)
            {
                throw new PolicyFormatException($"{where}: \"Condition\".\"{op.Name}\" must be an object of condition keys, it is {Describe(op.Value.ValueKind)}");
            }
            foreach (var key in op.Value.EnumerateObject())
            {
                // Condition keys are case-insensitive in IAM.
                keys.Add(key.Name.ToLowerInvariant());
            }
        }
        return keys;
    }

    private static List<string>? StringList(JsonElement statement, string name, string where)
    {
        if (!statement.TryGetProperty(name, out var element))
        {
            return null;
        }
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                return [element.GetString()!];
            case JsonValueKind.Array:
                var list = new List<string>();
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.String)
                    {
                        throw new PolicyFormatException($"{where}: \"{name}\"[{i}] must be a string, it is {Describe(item.ValueKind)}");
                    }
                    list.Add(item.GetString()!);
                    i++;
                }
                if (list.Count == 0)
                {
                    throw new PolicyFormatException($"{where}: \"{name}\" is an empty array");
                }
                return list;
            default:
                throw new PolicyFormatException($"{where}: \"{name}\" must be a string or an array of strings, it is {Describe(element.ValueKind)}");
        }
    }

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static string FirstSentence(string message)
    {
        // System.Text.Json appends "Path: $ | LineNumber: … | BytePositionInLine: …": the position is already in front.
        foreach (var marker in (string[])[" Path:", " LineNumber:"])
        {
            var cut = message.IndexOf(marker, StringComparison.Ordinal);
            if (cut > 0)
            {
                message = message[..cut];
            }
        }
        return message.TrimEnd();
    }
}
