namespace Airlock.Core.Aws.Policies;

/// <summary>
/// The destination regions a cross-Region (system-defined) inference profile can route to, by its geography prefix.
/// IAM must allow the foundation model in every destination region ("IAM policy requirements for Geographic cross-Region
/// inference", Bedrock user guide), so the generated policy lists them one by one instead of <c>arn:aws:bedrock:*</c>.
/// The lists are the union over models from the Bedrock user guide ("Supported Regions and models for inference profiles")
/// and the AWS CDK <c>CrossRegionInferenceProfileRegion</c> documentation; a model may use fewer. They change as AWS adds
/// regions: <c>airlock aws policy --geo PREFIX=r1,r2</c> overrides one.
/// </summary>
public static class CrossRegionGeographies
{
    /// <summary>The prefix of global profiles: Bedrock may route to any commercial region, named in IAM by an ARN with no region.</summary>
    public const string Global = "global";

    private static readonly Dictionary<string, string[]> s_destinations = new(StringComparer.Ordinal)
    {
        ["us"] = ["us-east-1", "us-east-2", "us-west-1", "us-west-2"],
        ["us-gov"] = ["us-gov-east-1", "us-gov-west-1"],
        ["eu"] = ["eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-2", "eu-west-3"],
        ["apac"] = ["ap-east-2", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-south-2", "ap-southeast-1",
            "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7", "me-central-1"],
        ["jp"] = ["ap-northeast-1", "ap-northeast-3"],
        ["au"] = ["ap-southeast-2", "ap-southeast-4"],
    };

    /// <summary>The prefixes with a shipped destination list (plus <see cref="Global"/>).</summary>
    public static IEnumerable<string> Known => s_destinations.Keys.Append(Global).Order(StringComparer.Ordinal);

    /// <summary>True for a prefix that starts a profile id: a shipped one, <see cref="Global"/>, or one of <paramref name="extra"/>
    /// (a geography added after this release, given with <c>--geo</c>). Guessing from the shape would misread provider
    /// names such as <c>amazon.</c> or <c>meta.</c> as geographies.</summary>
    public static bool IsGeography(string prefix, IEnumerable<string>? extra = null) =>
        s_destinations.ContainsKey(prefix) || prefix == Global || (extra?.Contains(prefix, StringComparer.Ordinal) ?? false);

    /// <summary>The destination regions of <paramref name="geography"/>, from <paramref name="overrides"/> first; null when unknown.</summary>
    public static IReadOnlyList<string>? Destinations(string geography, IReadOnlyDictionary<string, IReadOnlyList<string>>? overrides = null)
    {
        if (overrides is not null && overrides.TryGetValue(geography, out var chosen))
        {
            return chosen;
        }
        return s_destinations.TryGetValue(geography, out var shipped) ? shipped : null;
    }
}
