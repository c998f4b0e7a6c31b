using Airlock.Core.Configuration;

namespace Airlock.Core.Aws.Policies;

/// <summary>One model id a Bedrock upstream may be asked for, with every ARN an invocation of it is authorized against.</summary>
/// <param name="Upstream">The Bedrock upstream's name.</param>
/// <param name="Reference">The id, read.</param>
/// <param name="InvokedArn">The ARN of what the request names: the foundation model, or the inference profile.</param>
/// <param name="ModelArnsBehindProfile">For a cross-Region profile: the foundation model in the source and every destination region
/// (authorized with <c>bedrock:InferenceProfileArn</c> set to <see cref="InvokedArn"/>). Empty otherwise.</param>
/// <param name="ProcessingRegions">Where a prompt sent to this id may be processed (<c>*</c>: any commercial region).</param>
public sealed record BedrockInvocationTarget(
    string Upstream, BedrockModelReference Reference, string InvokedArn, IReadOnlyList<string> ModelArnsBehindProfile, IReadOnlyList<string> ProcessingRegions);

/// <summary>What to add to, or change in, what the configuration implies.</summary>
public sealed record BedrockTargetOptions
{
    /// <summary>The AWS account of the gateway (in inference-profile ARNs); null: the policy variable <c>${aws:PrincipalAccount}</c>.</summary>
    public string? AccountId { get; init; }

    /// <summary>Model ids allowed besides those the configuration names (e.g. the models behind an application inference profile).</summary>
    public IReadOnlyList<string> ExtraModels { get; init; } = [];

    /// <summary>Destination regions per geography prefix, replacing the shipped list (<see cref="CrossRegionGeographies"/>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Geographies { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
}

/// <summary>
/// The Bedrock models this configuration can invoke, per Bedrock upstream: every model map value, every route pattern routed to the
/// upstream that is itself a Bedrock id, and <see cref="BedrockTargetOptions.ExtraModels"/>. Shared by <c>airlock aws policy</c>
/// (which ARNs to allow) and <c>airlock posture</c> (where prompts are processed).
/// </summary>
public sealed class BedrockInvocationTargets
{
    /// <summary>The policy variable used for the account when none is given: IAM substitutes the caller's account.</summary>
    public const string AccountVariable = "${aws:PrincipalAccount}";

    private BedrockInvocationTargets(IReadOnlyList<BedrockInvocationTarget> targets, IReadOnlyList<string> notes, IReadOnlyList<string> errors)
    {
        Targets = targets;
        Notes = notes;
        Errors = errors;
    }

    /// <summary>The targets, in upstream then model order, without duplicates.</summary>
    public IReadOnlyList<BedrockInvocationTarget> Targets { get; }

    /// <summary>Facts the reader should know (names passed through unmapped, regions outside <c>allowed_regions</c>, …).</summary>
    public IReadOnlyList<string> Notes { get; }

    /// <summary>Ids that cannot be turned into ARNs (malformed, unknown geography): the policy would be wrong, so it is not written.</summary>
    public IReadOnlyList<string> Errors { get; }

    /// <summary>Computes the targets of every Bedrock upstream of <paramref name="config"/>.</summary>
    public static BedrockInvocationTargets From(AirlockConfig config, BedrockTargetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        options ??= new BedrockTargetOptions();
        var targets = new List<BedrockInvocationTarget>();
        var notes = new List<string>();
        var errors = new List<string>();
        var seen = new HashSet<(string, string)>();
        foreach (var upstream in config.Upstreams.Where(u => u.Kind == UpstreamKind.Bedrock))
        {
            var region = upstream.Region;
            if (region is null)
            {
                errors.Add($"upstream '{upstream.Name}': no region");
                continue;
            }
            foreach (var id in ModelIds(config, upstream, notes).Concat(options.ExtraModels))
            {
                if (!seen.Add((upstream.Name, id)))
                {
                    continue;
                }
                var reference = BedrockModelReference.TryParse(id, out var error, options.Geographies.Keys);
                if (reference is null)
                {
                    errors.Add($"upstream '{upstream.Name}': {error}");
                    continue;
                }
                var target = Resolve(upstream.Name, region, reference, options, errors);
                if (target is null)
                {
                    continue;
                }
                targets.Add(target);
                if (config.AllowedRegions.Count > 0)
                {
                    // allowed_regions may name a profile's geography ("us", "eu", "global") to accept all its regions.
                    var outside = reference.Geography is { } geography && config.AllowedRegions.Contains(geography, StringComparer.Ordinal)
                        ? []
                        : target.ProcessingRegions.Where(r => !config.AllowedRegions.Contains(r, StringComparer.Ordinal)).ToList();
                    if (outside.Count > 0)
                    {
                        notes.Add($"upstream '{upstream.Name}': '{id}' may be processed in {string.Join(", ", outside)}, outside allowed_regions");
                    }
                }
            }
        }
        return new BedrockInvocationTargets(targets, notes, errors);
    }

    /// <summary>The partition of <paramref name="region"/> (<c>aws</c>, <c>aws-us-gov</c>, <c>aws-cn</c>).</summary>
    public static string Partition(string region) =>
        region.StartsWith("us-gov-", StringComparison.Ordinal) ? "aws-us-gov"
        : region.StartsWith("cn-", StringComparison.Ordinal) ? "aws-cn"
        : "aws";

    private static IEnumerable<string> ModelIds(AirlockConfig config, UpstreamConfig upstream, List<string> notes)
    {
        foreach (var mapping in upstream.ModelMap)
        {
            yield return mapping.Model;
        }
        var mapsEverything = upstream.ModelMap.Any(m => m.Match == "*");
        foreach (var route in config.Routes)
        {
            if (route.Upstream != upstream.Name && !route.Fallbacks.Contains(upstream.Name, StringComparer.Ordinal))
            {
                continue;
            }
            foreach (var pattern in route.Models)
            {
                if (mapsEverything || upstream.ModelMap.Any(m => m.Match == pattern))
                {
                    continue;
                }
                if (pattern.Contains('*', StringComparison.Ordinal) || pattern.Contains('?', StringComparison.Ordinal)
                    || BedrockModelReference.TryParse(pattern, out _) is null)
                {
                    notes.Add($"upstream '{upstream.Name}': models matching '{pattern}' that no model_map entry maps are sent as named; "
                        + "the policy allows only the ids listed here (add model_map entries or --model)");
                    continue;
                }
                yield return pattern;
            }
        }
    }

    private static BedrockInvocationTarget? Resolve(string upstream, string sourceRegion, BedrockModelReference reference, BedrockTargetOptions options, List<string> errors)
    {
        var region = reference.Region ?? sourceRegion;
        var partition = Partition(region);
        var account = reference.Account ?? options.AccountId ?? AccountVariable;
        switch (reference.Kind)
        {
            case BedrockModelReferenceKind.FoundationModel:
                return new BedrockInvocationTarget(upstream, reference, FoundationModelArn(partition, region, reference.ModelId), [], [region]);
            case BedrockModelReferenceKind.ApplicationInferenceProfile:
                return new BedrockInvocationTarget(upstream, reference,
                    $"arn:{partition}:bedrock:{region}:{account}:application-inference-profile/{reference.ModelId}", [], [region]);
            default:
                var profileArn = $"arn:{partition}:bedrock:{region}:{account}:inference-profile/{reference.ProfileId}";
                var models = new SortedSet<string>(StringComparer.Ordinal) { FoundationModelArn(partition, region, reference.ModelId) };
                IReadOnlyList<string> regions;
                if (reference.Geography == CrossRegionGeographies.Global)
                {
                    // Global profiles: the source-region model plus the model ARN with no region ("Global cross-Region inference",
                    // IAM policy requirements, Bedrock user guide).
                    models.Add(FoundationModelArn(partition, "", reference.ModelId));
                    regions = ["*"];
                }
                else
                {
                    var destinations = CrossRegionGeographies.Destinations(reference.Geography!, options.Geographies);
                    if (destinations is null)
                    {
                        errors.Add($"upstream '{upstream}': '{reference.ProfileId}': no destination regions known for geography '{reference.Geography}' "
                            + $"(known: {string.Join(", ", CrossRegionGeographies.Known)}); give them with --geo {reference.Geography}=REGION,REGION");
                        return null;
                    }
                    foreach (var destination in destinations)
                    {
                        models.Add(FoundationModelArn(partition, destination, reference.ModelId));
                    }
                    regions = [.. destinations.Append(region).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
                }
                return new BedrockInvocationTarget(upstream, reference, profileArn, [.. models], regions);
        }
    }

    private static string FoundationModelArn(string partition, string region, string modelId) => $"arn:{partition}:bedrock:{region}::foundation-model/{modelId}";
}
