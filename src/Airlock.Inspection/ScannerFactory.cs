namespace Airlock.Inspection;

/// <summary>Ready-made scanners.</summary>
public static class ScannerFactory
{
    /// <summary>Built-in secret rules + personal data with default options (no organization terms).
    /// Throws <see cref="RulePackException"/> if the built-in pack cannot load (fail closed).</summary>
    public static ITextScanner CreateDefault() => Create(RulePack.LoadBuiltIn());

    /// <summary>Secrets from <paramref name="pack"/>, personal data and optional organization lists.</summary>
    public static ITextScanner Create(RulePack pack, PersonalDataOptions? personalData = null, IEnumerable<OrganizationTermList>? organizationLists = null)
    {
        var scanners = new List<ITextScanner> { new SecretScanner(pack), new PersonalDataScanner(personalData) };
        var lists = organizationLists?.ToList();
        if (lists is { Count: > 0 })
        {
            scanners.Add(new OrganizationTermScanner(lists));
        }

        return new CompositeScanner(scanners);
    }
}
