namespace Airlock.Core.Aws.Policies;

/// <summary>What a Bedrock model id names, which decides the ARNs an IAM policy must allow for it.</summary>
public enum BedrockModelReferenceKind
{
    /// <summary>A foundation model (<c>anthropic.claude-…</c> or <c>arn:…:foundation-model/…</c>), invoked in one region.</summary>
    FoundationModel,

    /// <summary>A cross-Region (system-defined) inference profile (<c>us.anthropic.claude-…</c>, <c>global.anthropic.claude-…</c>):
    /// the profile in the source region plus the foundation model in every destination region.</summary>
    SystemInferenceProfile,

    /// <summary>An application inference profile (<c>arn:…:application-inference-profile/ID</c>): the models behind it are
    /// not visible in the id and must be listed explicitly.</summary>
    ApplicationInferenceProfile,
}

/// <summary>
/// A Bedrock model id as the gateway sends it (a model map value), read into the parts an IAM policy needs.
/// ARN formats (Bedrock user guide, "Geographic cross-Region inference" and "Prerequisites for inference profiles"):
/// <c>arn:aws:bedrock:REGION::foundation-model/MODEL</c> (no account), <c>arn:aws:bedrock:REGION:ACCOUNT:inference-profile/GEO.MODEL</c>,
/// <c>arn:aws:bedrock:REGION:ACCOUNT:application-inference-profile/ID</c>.
/// </summary>
/// <param name="Kind">What the id names.</param>
/// <param name="ModelId">The foundation model id (<c>anthropic.claude-sonnet-4-5-20250929-v1:0</c>); for an application profile, its id.</param>
/// <param name="Geography">For a system profile: its prefix (<c>us</c>, <c>eu</c>, <c>apac</c>, <c>global</c>…).</param>
/// <param name="Region">The region named by an ARN, or null when the id is not an ARN (the upstream's region applies).</param>
/// <param name="Account">The account named by a profile ARN, or null.</param>
public sealed record BedrockModelReference(BedrockModelReferenceKind Kind, string ModelId, string? Geography, string? Region, string? Account)
{
    /// <summary>The id of the profile as Bedrock names it (<c>us.anthropic.…</c>) for a system profile; else <see cref="ModelId"/>.</summary>
    public string ProfileId => Kind == BedrockModelReferenceKind.SystemInferenceProfile ? $"{Geography}.{ModelId}" : ModelId;

    /// <summary>Reads <paramref name="id"/> (<paramref name="extraGeographies"/>: profile prefixes beyond the shipped ones); null with <paramref name="error"/> set when it is not a Bedrock model id or ARN.</summary>
    public static BedrockModelReference? TryParse(string id, out string? error, IEnumerable<string>? extraGeographies = null)
    {
        ArgumentNullException.ThrowIfNull(id);
        error = null;
        if (id.Length == 0 || id.Any(c => char.IsWhiteSpace(c) || c == '*' || c == '?'))
        {
            error = $"'{id}' is not a Bedrock model id (empty, blank or a glob)";
            return null;
        }
        if (IsBareName(id))
        {
            // Bedrock ids always name the provider (anthropic.claude-…); a bare "claude-sonnet-4-5" is a Messages API name.
            error = $"'{id}' is not a Bedrock model id (provider.model, GEO.provider.model or an ARN)";
            return null;
        }
        if (id.StartsWith("arn:", StringComparison.Ordinal))
        {
            // arn:PARTITION:bedrock:REGION:ACCOUNT:TYPE/ID (the id itself may contain ':', e.g. "…-v1:0").
            var parts = id.Split(':', 6);
            if (parts.Length != 6 || parts[2] != "bedrock" || parts[5].IndexOf('/', StringComparison.Ordinal) <= 0)
            {
                error = $"'{id}' is not a Bedrock ARN (arn:aws:bedrock:REGION:ACCOUNT:TYPE/ID)";
                return null;
            }
            var slash = parts[5].IndexOf('/', StringComparison.Ordinal);
            var type = parts[5][..slash];
            var rest = parts[5][(slash + 1)..];
            var region = parts[3].Length == 0 ? null : parts[3];
            var account = parts[4].Length == 0 ? null : parts[4];
            switch (type)
            {
                case "foundation-model":
                    return new BedrockModelReference(BedrockModelReferenceKind.FoundationModel, rest, null, region, null);
                case "inference-profile":
                    var profile = FromId(rest, extraGeographies);
                    if (profile.Kind != BedrockModelReferenceKind.SystemInferenceProfile)
                    {
                        error = $"'{id}': '{rest}' is not a cross-Region inference profile id (GEO.provider.model)";
                        return null;
                    }
                    return profile with { Region = region, Account = account };
                case "application-inference-profile":
                    return new BedrockModelReference(BedrockModelReferenceKind.ApplicationInferenceProfile, rest, null, region, account);
                default:
                    error = $"'{id}': resource type '{type}' cannot be invoked by the gateway (foundation-model, inference-profile or application-inference-profile)";
                    return null;
            }
        }
        return FromId(id, extraGeographies);
    }

    private static BedrockModelReference FromId(string id, IEnumerable<string>? extraGeographies)
    {
        // A system profile id is GEO.provider.model (a known geography first); a foundation model id is provider.model.
        var firstDot = id.IndexOf('.', StringComparison.Ordinal);
        var secondDot = firstDot < 0 ? -1 : id.IndexOf('.', firstDot + 1);
        if (secondDot > 0)
        {
            var prefix = id[..firstDot];
            var provider = id[(firstDot + 1)..secondDot];
            // A known prefix, or one shaped like a geography in front of a provider name ("ca.anthropic.…"): an unknown geography
            // must fail with a request for its regions, never become a made-up foundation-model ARN.
            if (CrossRegionGeographies.IsGeography(prefix, extraGeographies)
                || (prefix.Length is >= 2 and <= 7 && prefix.All(c => char.IsAsciiLetterLower(c) || c == '-') && provider.Length > 0 && provider.All(char.IsAsciiLetterLower)))
            {
                return new BedrockModelReference(BedrockModelReferenceKind.SystemInferenceProfile, id[(firstDot + 1)..], prefix, null, null);
            }
        }
        return new BedrockModelReference(BedrockModelReferenceKind.FoundationModel, id, null, null, null);
    }

    private static bool IsBareName(string id) => !id.StartsWith("arn:", StringComparison.Ordinal) && !id.Contains('.', StringComparison.Ordinal);
}
