namespace Airlock.Core.Egress;

/// <summary>
/// Data residency for Bedrock model ids. An in-region model id is served in the upstream's region; a cross-region
/// inference profile (<c>us.</c>, <c>eu.</c>, <c>apac.</c>, <c>global.</c>… prefix) may be served in any region of its
/// geography, so it is allowed only when <c>allowed_regions</c> names that geography (<c>eu</c>, <c>global</c>) itself.
/// Source: AWS Bedrock user guide, "Supported Regions and models for inference profiles".
/// </summary>
public static class RegionRule
{
    private static readonly string[] Geographies = ["global", "us-gov", "us", "eu", "apac", "jp", "au", "ca"];

    /// <summary>
    /// Null when <paramref name="modelId"/> stays inside <paramref name="allowedRegions"/> (or no list is declared),
    /// else the reason. Accepts plain ids, inference-profile ids and ARNs (whose region is checked too).
    /// </summary>
    public static string? CheckBedrockModel(string modelId, IReadOnlyList<string> allowedRegions)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        ArgumentNullException.ThrowIfNull(allowedRegions);
        if (allowedRegions.Count == 0)
        {
            return null;
        }
        var id = modelId;
        if (id.StartsWith("arn:", StringComparison.Ordinal))
        {
            // arn:PARTITION:bedrock:REGION:ACCOUNT:RESOURCE-TYPE/ID
            var parts = id.Split(':', 6);
            if (parts.Length == 6 && parts[3].Length > 0 && !allowedRegions.Contains(parts[3]))
            {
                return $"model '{modelId}' is in region {parts[3]}, outside allowed_regions ({string.Join(", ", allowedRegions)})";
            }
            id = parts.Length == 6 && parts[5].IndexOf('/', StringComparison.Ordinal) is var slash and >= 0 ? parts[5][(slash + 1)..] : id;
        }
        var geography = GeographyOf(id);
        if (geography is not null && !allowedRegions.Contains(geography))
        {
            return $"model '{modelId}' is a cross-region inference profile that may be served anywhere in '{geography}', outside allowed_regions ({string.Join(", ", allowedRegions)})";
        }
        return null;
    }

    /// <summary>The geography prefix of a cross-region inference profile id (<c>eu.anthropic…</c> → <c>eu</c>), or null.</summary>
    public static string? GeographyOf(string modelId)
    {
        ArgumentNullException.ThrowIfNull(modelId);
        foreach (var geography in Geographies)
        {
            if (modelId.Length > geography.Length && modelId.StartsWith(geography, StringComparison.Ordinal) && modelId[geography.Length] == '.')
            {
                return geography;
            }
        }
        return null;
    }
}
