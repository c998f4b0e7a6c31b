namespace Airlock.Inspection;

/// <summary>The personal-data entities <see cref="PersonalDataScanner"/> knows.</summary>
public enum PersonalDataEntity
{
    Email,
    Phone,
    PaymentCard,
    Iban,
    UsSsn,
    IpAddress,
}

/// <summary>Per-entity switch, threshold and context words.</summary>
public sealed class PersonalDataEntityOptions
{
    public bool Enabled { get; init; } = true;

    /// <summary>Matches below this confidence are not reported.</summary>
    public Confidence MinimumConfidence { get; init; } = Confidence.Medium;

    /// <summary>Words that raise confidence by one level when one of them occurs, as a whole word, within
    /// <see cref="PersonalDataOptions.ContextWindowWords"/> words before the match. Null = built-in list.</summary>
    public IReadOnlyList<string>? ContextWords { get; init; }
}

/// <summary>Options for <see cref="PersonalDataScanner"/>.</summary>
public sealed class PersonalDataOptions
{
    /// <summary>Region (ISO 3166-1 alpha-2) for phone numbers written without a country code.</summary>
    public string DefaultRegion { get; init; } = "US";

    public PersonalDataEntityOptions Email { get; init; } = new();

    public PersonalDataEntityOptions Phone { get; init; } = new();

    public PersonalDataEntityOptions PaymentCard { get; init; } = new();

    public PersonalDataEntityOptions Iban { get; init; } = new();

    public PersonalDataEntityOptions UsSsn { get; init; } = new();

    public PersonalDataEntityOptions IpAddress { get; init; } = new();

    /// <summary>Skip loopback, private (RFC 1918, RFC 4193), link-local, CGNAT and multicast addresses.
    /// Documentation ranges (RFC 5737, RFC 3849) are always skipped.</summary>
    public bool SkipPrivateIpAddresses { get; init; } = true;

    /// <summary>How many words before a match are searched for context words.</summary>
    public int ContextWindowWords { get; init; } = 5;

    /// <summary>Strings longer than this are scanned in overlapping chunks. Default 8 MiB chars.</summary>
    public int MaxStringLength { get; init; } = 8 * 1024 * 1024;

    public PersonalDataEntityOptions For(PersonalDataEntity entity) => entity switch
    {
        PersonalDataEntity.Email => Email,
        PersonalDataEntity.Phone => Phone,
        PersonalDataEntity.PaymentCard => PaymentCard,
        PersonalDataEntity.Iban => Iban,
        PersonalDataEntity.UsSsn => UsSsn,
        PersonalDataEntity.IpAddress => IpAddress,
        _ => throw new ArgumentOutOfRangeException(nameof(entity)),
    };
}
