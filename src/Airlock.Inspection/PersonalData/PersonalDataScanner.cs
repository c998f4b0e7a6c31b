using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using PhoneNumbers;

namespace Airlock.Inspection;

/// <summary>
/// Finds personal data: email, phone (libphonenumber), payment card (Luhn + IIN), IBAN (per-country length +
/// MOD 97-10), US SSN (SSA validity rules) and IP addresses. Candidate regexes run on the linear-time
/// NonBacktracking engine; the boundary, validity and look-alike checks are code, so they stay cheap and exact.
/// Context words (whole words, a few words before a match) raise confidence by one level.
/// Rule ids: <c>pii-email</c>, <c>pii-phone</c>, <c>pii-payment-card</c>, <c>pii-iban</c>, <c>pii-us-ssn</c>, <c>pii-ip-address</c>.
/// </summary>
public sealed class PersonalDataScanner : ITextScanner
{
    public const string EmailRuleId = "pii-email";
    public const string PhoneRuleId = "pii-phone";
    public const string PaymentCardRuleId = "pii-payment-card";
    public const string IbanRuleId = "pii-iban";
    public const string UsSsnRuleId = "pii-us-ssn";
    public const string IpAddressRuleId = "pii-ip-address";

    private const RegexOptions Linear = RegexOptions.NonBacktracking | RegexOptions.CultureInvariant;
    private const int ChunkOverlap = 4096;

    private static readonly Regex s_email = new(@"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9.\-]{1,253}\.[A-Za-z]{2,24}", Linear);
    private static readonly Regex s_phone = new(@"(?:\+|\(|[0-9])[0-9 ().\-]{5,22}[0-9]", Linear);
    private static readonly Regex s_card = new(@"[0-9](?:[ \-]?[0-9]){11,18}", Linear);
    private static readonly Regex s_iban = new(@"[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){10,30}", Linear);
    private static readonly Regex s_ssn = new(@"[0-9]{3}[ \-]?[0-9]{2}[ \-]?[0-9]{4}", Linear);
    private static readonly Regex s_ipv4 = new(@"[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}", Linear);
    private static readonly Regex s_ipv6 = new(@"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}", Linear);
    private static readonly Regex s_dateLike = new(@"^(?:[0-9]{4}[\-/.][0-9]{1,2}[\-/.][0-9]{1,2}|[0-9]{1,2}[\-/.][0-9]{1,2}[\-/.][0-9]{4})", Linear);

    private static readonly string[] s_emailContext = ["email", "mail", "contact", "address", "from", "reply"];
    private static readonly string[] s_phoneContext = ["phone", "tel", "telephone", "mobile", "cell", "fax", "call", "contact", "whatsapp", "sms", "number"];
    private static readonly string[] s_cardContext = ["card", "credit", "debit", "visa", "mastercard", "amex", "cc", "payment", "pan", "cardnumber"];
    private static readonly string[] s_ibanContext = ["iban", "account", "bank", "transfer", "sepa", "payee"];
    private static readonly string[] s_ssnContext = ["ssn", "social", "security", "ssa", "taxpayer", "tin"];
    private static readonly string[] s_ipContext = ["ip", "ipv4", "ipv6", "address", "client", "remote", "host", "addr", "peer", "source"];

    // Suppress IPv4 look-alikes preceded by these (substring, case-insensitive): version numbers in changelogs,
    // assembly versions, OIDs.
    private static readonly string[] s_versionHints = ["version", "release", "changelog", "bump", "upgrade", "update", "v.", "ver ", "build", "tag ", "nuget", "npm", "package", "sdk", "firmware", "oid"];

    // SSA: never issued (area 000, 666, 900-999; group 00; serial 0000) plus numbers voided after public misuse
    // (078-05-1120 "Woolworth wallet", 219-09-9999 SSA advertisement, 457-55-5462 advertising) and 123-45-6789.
    private static readonly string[] s_knownInvalidSsns = ["078051120", "219099999", "457555462", "123456789"];

    private readonly PersonalDataOptions _options;
    private readonly PhoneNumberUtil _phoneUtil = PhoneNumberUtil.GetInstance();
    private readonly HashSet<string>[] _context;

    public PersonalDataScanner(PersonalDataOptions? options = null)
    {
        _options = options ?? new PersonalDataOptions();
        _context =
        [
            Words(_options.Email.ContextWords ?? s_emailContext),
            Words(_options.Phone.ContextWords ?? s_phoneContext),
            Words(_options.PaymentCard.ContextWords ?? s_cardContext),
            Words(_options.Iban.ContextWords ?? s_ibanContext),
            Words(_options.UsSsn.ContextWords ?? s_ssnContext),
            Words(_options.IpAddress.ContextWords ?? s_ipContext),
        ];
    }

    /// <inheritdoc />
    public void Scan(string text, List<TextMatch> results)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(results);
        var from = results.Count;
        TextChunker.Scan(text, _options.MaxStringLength, ChunkOverlap, results, (start, end, into) => ScanRange(text, start, end, into));
        TextChunker.SortAppended(results, from);
    }

    private void ScanRange(string text, int start, int end, List<TextMatch> results)
    {
        // Cheap vectorized gates before the regexes: each pattern needs a character the text may not have at all
        // (prose and most config lack '@'; identifiers-only code lacks digits; an IPv6 address needs ':').
        var span = text.AsSpan(start, end - start);
        var hasDigit = span.IndexOfAnyInRange('0', '9') >= 0;
        if (_options.Email.Enabled && span.Contains('@'))
        {
            ForEach(s_email, text, start, end, m => Email(text, start, end, m, results));
        }

        if (!hasDigit)
        {
            return; // every other entity contains digits
        }

        if (_options.PaymentCard.Enabled)
        {
            ForEach(s_card, text, start, end, m => Card(text, start, end, m, results));
        }

        if (_options.Iban.Enabled && span.IndexOfAnyInRange('A', 'Z') >= 0)
        {
            ForEach(s_iban, text, start, end, m => Iban(text, start, end, m, results));
        }

        if (_options.UsSsn.Enabled)
        {
            ForEach(s_ssn, text, start, end, m => Ssn(text, start, end, m, results));
        }

        if (_options.Phone.Enabled)
        {
            ForEach(s_phone, text, start, end, m => Phone(text, start, end, m, results));
        }

        if (_options.IpAddress.Enabled)
        {
            if (span.Contains('.'))
            {
                ForEach(s_ipv4, text, start, end, m => Ipv4(text, start, end, m, results));
            }

            if (span.Contains(':'))
            {
                ForEach(s_ipv6, text, start, end, m => Ipv6(text, start, end, m, results));
            }
        }
    }

    private static void ForEach(Regex regex, string text, int start, int end, Action<Match> onMatch)
    {
        for (var m = regex.Match(text, start, end - start); m.Success; m = m.NextMatch())
        {
            onMatch(m);
        }
    }

    private void Email(string text, int rangeStart, int rangeEnd, Match m, List<TextMatch> results)
    {
        var value = m.ValueSpan.TrimEnd('.');
        var at = value.IndexOf('@');
        var local = value[..at];
        var domain = value[(at + 1)..];
        if (CharBefore(text, m.Index, rangeStart) is '.' or '-' or '+' or '_' || IsWordChar(CharAfter(text, m.Index + value.Length, rangeEnd))
            || local.StartsWith('.') || local.EndsWith('.') || local.Contains("..", StringComparison.Ordinal)
            || domain.StartsWith('.') || domain.StartsWith('-') || domain.Contains("..", StringComparison.Ordinal)
            || IsNonPersonalEmail(local, domain))
        {
            return;
        }

        Report(PersonalDataEntity.Email, EmailRuleId, Confidence.Medium, identifiable: true, text, rangeStart, m.Index, value.Length, results);
    }

    // Reserved example domains (RFC 2606 / RFC 6761), role addresses that identify no person, ssh remotes.
    private static bool IsNonPersonalEmail(ReadOnlySpan<char> local, ReadOnlySpan<char> domain)
    {
        foreach (var reserved in (ReadOnlySpan<string>)["example.com", "example.org", "example.net"])
        {
            if (domain.Equals(reserved, StringComparison.OrdinalIgnoreCase) || domain.EndsWith("." + reserved, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        foreach (var tld in (ReadOnlySpan<string>)[".example", ".test", ".invalid", ".localhost", ".local"])
        {
            if (domain.EndsWith(tld, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return local.StartsWith("noreply", StringComparison.OrdinalIgnoreCase) || local.StartsWith("no-reply", StringComparison.OrdinalIgnoreCase)
            || local.StartsWith("donotreply", StringComparison.OrdinalIgnoreCase)
            || (local.Equals("git", StringComparison.Ordinal) && domain is "github.com" or "gitlab.com" or "bitbucket.org" or "ssh.dev.azure.com");
    }

    private void Card(string text, int rangeStart, int rangeEnd, Match m, List<TextMatch> results)
    {
        if (!IsNumberBoundary(text, m.Index, m.Index + m.Length, rangeStart, rangeEnd))
        {
            return;
        }

        var raw = m.ValueSpan;
        Span<char> digits = stackalloc char[raw.Length];
        var count = 0;
        var separator = '\0';
        var group = 0;
        var grouped = true;
        foreach (var ch in raw)
        {
            if (char.IsAsciiDigit(ch))
            {
                digits[count++] = ch;
                group++;
                continue;
            }

            if (separator != '\0' && ch != separator)
            {
                return; // mixed separators: not a card written by a person
            }

            separator = ch;
            grouped &= group is >= 4 and <= 6;
            group = 0;
        }

        var number = digits[..count];
        if (count is < 13 or > 19 || !SecretValidators.PassesLuhn(number) || !HasKnownIin(number))
        {
            return;
        }

        var confidence = separator != '\0' && grouped ? Confidence.High : Confidence.Medium;
        Report(PersonalDataEntity.PaymentCard, PaymentCardRuleId, confidence, identifiable: true, text, rangeStart, m.Index, m.Length, results);
    }

    /// <summary>Issuer identification ranges of the major networks with their lengths (ISO/IEC 7812-1; network
    /// ranges as published by Visa, Mastercard incl. 2221–2720, Amex, Discover, JCB, Diners, UnionPay, Maestro).</summary>
    private static bool HasKnownIin(ReadOnlySpan<char> n)
    {
        var p2 = ((n[0] - '0') * 10) + (n[1] - '0');
        var p3 = (p2 * 10) + (n[2] - '0');
        var p4 = (p3 * 10) + (n[3] - '0');
        var len = n.Length;
        return (n[0] == '4' && len is 13 or 16 or 19)                                   // Visa
            || ((p2 is >= 51 and <= 55 || p4 is >= 2221 and <= 2720) && len == 16)      // Mastercard
            || (p2 is 34 or 37 && len == 15)                                            // American Express
            || ((p4 == 6011 || p3 is >= 644 and <= 649 || p2 == 65) && len is >= 16 and <= 19) // Discover
            || (p4 is >= 3528 and <= 3589 && len is >= 16 and <= 19)                    // JCB
            || ((p3 is >= 300 and <= 305 || p2 is 36 or 38 or 39) && len is >= 14 and <= 19) // Diners Club
            || (p2 == 62 && len is >= 16 and <= 19)                                     // UnionPay
            || (p2 is 50 or (>= 56 and <= 69) && len is >= 12 and <= 19);               // Maestro
    }

    private void Iban(string text, int rangeStart, int rangeEnd, Match m, List<TextMatch> results)
    {
        if (IsWordChar(CharBefore(text, m.Index, rangeStart)) || !IbanCountries.TryGetLength(m.ValueSpan[..2], out var expected))
        {
            return;
        }

        // The regex may run into a following word ("DE89… IS"): cut at the country's length, on a group boundary.
        var raw = m.ValueSpan;
        Span<char> compact = stackalloc char[expected];
        var count = 0;
        var end = 0;
        for (; end < raw.Length && count < expected; end++)
        {
            if (raw[end] != ' ')
            {
                compact[count++] = raw[end];
            }
        }

        if (count != expected || IsWordChar(CharAfter(text, m.Index + end, rangeEnd)) || !IbanCountries.HasValidCheckDigits(compact))
        {
            return;
        }

        Report(PersonalDataEntity.Iban, IbanRuleId, Confidence.High, identifiable: true, text, rangeStart, m.Index, end, results);
    }

    private void Ssn(string text, int rangeStart, int rangeEnd, Match m, List<TextMatch> results)
    {
        if (!IsNumberBoundary(text, m.Index, m.Index + m.Length, rangeStart, rangeEnd))
        {
            return;
        }

        var raw = m.ValueSpan;
        Span<char> d = stackalloc char[9];
        var count = 0;
        var separators = 0;
        var separator = '\0';
        foreach (var ch in raw)
        {
            if (char.IsAsciiDigit(ch))
            {
                d[count++] = ch;
            }
            else
            {
                if (separator != '\0' && ch != separator)
                {
                    return; // mixed delimiters
                }

                separator = ch;
                separators++;
            }
        }

        if (separators == 1)
        {
            return;
        }

        var area = int.Parse(d[..3], provider: null);
        if (area is 0 or 666 or >= 900 || d.Slice(3, 2).SequenceEqual("00") || d.Slice(5, 4).SequenceEqual("0000")
            || d.IndexOfAnyExcept(d[0]) < 0 || s_knownInvalidSsns.Contains(new string(d)))
        {
            return;
        }

        var confidence = separator == '-' ? Confidence.Medium : Confidence.Low;
        Report(PersonalDataEntity.UsSsn, UsSsnRuleId, confidence, identifiable: false, text, rangeStart, m.Index, m.Length, results);
    }

    private void Phone(string text, int rangeStart, int rangeEnd, Match m, List<TextMatch> results)
    {
        var raw = m.ValueSpan;
        var before = CharBefore(text, m.Index, rangeStart);
        var after = CharAfter(text, m.Index + m.Length, rangeEnd);
        if (IsWordChar(before) || before is '.' or '-' or '/' or ':' or '+' || IsWordChar(after) || after is '-' or ':' || (after == '.' && char.IsAsciiDigit(CharAfter(text, m.Index + m.Length + 1, rangeEnd))))
        {
            return;
        }

        var digits = 0;
        var shortGroups = 0;
        var group = 0;
        var hasSeparator = false;
        var dots = 0;
        var otherSeparators = 0;
        foreach (var ch in raw)
        {
            if (char.IsAsciiDigit(ch))
            {
                digits++;
                group++;
                continue;
            }

            hasSeparator |= ch is ' ' or '-' or '.' or '(' or ')';
            dots += ch == '.' ? 1 : 0;
            otherSeparators += ch == '.' ? 0 : 1;
            shortGroups += group == 1 ? 1 : 0;
            group = 0;
        }

        var international = raw[0] == '+';
        if (digits is < 7 or > 15 || shortGroups > 1 || dots >= 3 || (dots == 1 && otherSeparators == 0) || s_dateLike.IsMatch(raw))
        {
            return; // lists of small numbers, IPs/versions, decimals, dates and timestamps
        }

        var hasContext = HasContext(text, rangeStart, m.Index, PersonalDataEntity.Phone);
        if (!international && !hasSeparator && !hasContext)
        {
            return; // a bare digit run is far more often an id or a timestamp than a phone number
        }

        PhoneNumber number;
        try
        {
            number = _phoneUtil.Parse(raw.ToString(), _options.DefaultRegion);
        }
        catch (NumberParseException)
        {
            return;
        }

        if (!_phoneUtil.IsValidNumber(number))
        {
            return;
        }

        var confidence = international ? Confidence.High : Confidence.Medium;
        Report(PersonalDataEntity.Phone, PhoneRuleId, confidence, identifiable: false, text, rangeStart, m.Index, m.Length, results);
    }

    private void Ipv4(string text, int rangeStart, int rangeEnd, Match m, List<TextMatch> results)
    {
        var before = CharBefore(text, m.Index, rangeStart);
        var after = CharAfter(text, m.Index + m.Length, rangeEnd);
        if (IsWordChar(before) || before is '.' || IsWordChar(after) || (after == '.' && char.IsAsciiDigit(CharAfter(text, m.Index + m.Length + 1, rangeEnd))))
        {
            return; // part of a longer dotted number (OID, 5-part version) or of an identifier (v1.2.3.4)
        }

        Span<int> octets = stackalloc int[4];
        var i = 0;
        foreach (var part in m.ValueSpan.Split('.'))
        {
            var s = m.ValueSpan[part];
            if ((s.Length > 1 && s[0] == '0') || !int.TryParse(s, provider: null, out octets[i]) || octets[i] > 255)
            {
                return;
            }

            i++;
        }

        if (octets[0] < 10 && octets[1] < 10 && octets[2] < 10 && octets[3] < 10)
        {
            return; // 1.2.3.4, 2.0.0.1: version numbers far more often than addresses
        }

        if (IsDocumentationV4(octets) || (_options.SkipPrivateIpAddresses && IsPrivateV4(octets)) || LooksLikeVersion(text, rangeStart, m.Index))
        {
            return;
        }

        Report(PersonalDataEntity.IpAddress, IpAddressRuleId, Confidence.Medium, identifiable: false, text, rangeStart, m.Index, m.Length, results);
    }

    private void Ipv6(string text, int rangeStart, int rangeEnd, Match m, List<TextMatch> results)
    {
        var value = m.ValueSpan;
        var before = CharBefore(text, m.Index, rangeStart);
        var after = CharAfter(text, m.Index + m.Length, rangeEnd);
        if (IsWordChar(before) || before is ':' or '.' || IsWordChar(after) || after is ':' or '.')
        {
            return;
        }

        var groups = 0;
        foreach (var part in value.Split(':'))
        {
            groups += part.End.Value > part.Start.Value ? 1 : 0;
        }

        if (groups < 3 || !IPAddress.TryParse(value, out var address) || address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return; // "::", "a::b", C++ scopes, MAC addresses, clock times
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        var documentation = bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8; // 2001:db8::/32 (RFC 3849)
        var isPrivate = IPAddress.IsLoopback(address) || address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6UniqueLocal
            || address.IsIPv6Multicast || address.Equals(IPAddress.IPv6None);
        if (documentation || (_options.SkipPrivateIpAddresses && isPrivate))
        {
            return;
        }

        Report(PersonalDataEntity.IpAddress, IpAddressRuleId, Confidence.Medium, identifiable: false, text, rangeStart, m.Index, m.Length, results);
    }

    // RFC 5737 documentation ranges.
    private static bool IsDocumentationV4(ReadOnlySpan<int> o) =>
        (o[0] == 192 && o[1] == 0 && o[2] == 2) || (o[0] == 198 && o[1] == 51 && o[2] == 100) || (o[0] == 203 && o[1] == 0 && o[2] == 113);

    // Loopback, RFC 1918, link-local, CGNAT (RFC 6598), "this network", multicast/reserved and broadcast.
    private static bool IsPrivateV4(ReadOnlySpan<int> o) =>
        o[0] is 0 or 10 or 127 or >= 224
        || (o[0] == 172 && o[1] is >= 16 and <= 31)
        || (o[0] == 192 && o[1] == 168)
        || (o[0] == 169 && o[1] == 254)
        || (o[0] == 100 && o[1] is >= 64 and <= 127);

    private static bool LooksLikeVersion(string text, int rangeStart, int index)
    {
        var lineStart = index > rangeStart ? text.LastIndexOf('\n', index - 1, index - rangeStart) + 1 : rangeStart;
        lineStart = Math.Max(lineStart, rangeStart);
        var line = text.AsSpan(lineStart, index - lineStart);
        if (line.TrimStart().StartsWith('#'))
        {
            return true; // changelog / markdown heading ("## [1.20.3.4] - 2024-05-01")
        }

        var look = line[Math.Max(0, line.Length - 40)..];
        foreach (var hint in s_versionHints)
        {
            if (look.Contains(hint, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private void Report(PersonalDataEntity entity, string ruleId, Confidence confidence, bool identifiable, string text, int rangeStart, int start, int length, List<TextMatch> results)
    {
        var options = _options.For(entity);
        if (confidence < Confidence.High && HasContext(text, rangeStart, start, entity))
        {
            confidence++;
        }

        if (confidence >= options.MinimumConfidence)
        {
            results.Add(new TextMatch(ruleId, FindingCategory.PersonalData, confidence, start, length, identifiable));
        }
    }

    /// <summary>True when one of the entity's context words occurs as a whole word (split on non-letters and
    /// camelCase humps) among the <see cref="PersonalDataOptions.ContextWindowWords"/> words before the match.</summary>
    private bool HasContext(string text, int rangeStart, int index, PersonalDataEntity entity)
    {
        var words = _context[(int)entity];
        if (words.Count == 0)
        {
            return false;
        }

        var lookStart = Math.Max(rangeStart, index - 120);
        var slice = text.AsSpan(lookStart, index - lookStart);
        Span<(int Start, int End)> last = stackalloc (int, int)[Math.Clamp(_options.ContextWindowWords, 1, 32)];
        var total = 0;
        var i = 0;
        while (i < slice.Length)
        {
            if (!char.IsAsciiLetter(slice[i]))
            {
                i++;
                continue;
            }

            var start = i++;
            while (i < slice.Length && char.IsAsciiLetter(slice[i]) && !(char.IsAsciiLetterUpper(slice[i]) && char.IsAsciiLetterLower(slice[i - 1])))
            {
                i++;
            }

            last[total++ % last.Length] = (start, i);
        }

        Span<char> word = stackalloc char[32];
        var lookup = words.GetAlternateLookup<ReadOnlySpan<char>>();
        for (var k = 0; k < Math.Min(total, last.Length); k++)
        {
            var (s, e) = last[k];
            if (e - s > word.Length)
            {
                continue;
            }

            var lower = word[..(e - s)];
            slice[s..e].ToLowerInvariant(lower);
            if (lookup.Contains(lower))
            {
                return true;
            }
        }

        return false;
    }

    private static HashSet<string> Words(IEnumerable<string> words) =>
        new(words.Select(w => w.Trim().ToLowerInvariant()).Where(w => w.Length > 0), StringComparer.Ordinal);

    private static char CharBefore(string text, int index, int rangeStart) => index > rangeStart ? text[index - 1] : '\0';

    private static char CharAfter(string text, int index, int rangeEnd) => index < rangeEnd ? text[index] : '\0';

    private static bool IsWordChar(char ch) => char.IsAsciiLetterOrDigit(ch) || ch == '_';

    // A standalone number: not glued to letters, digits, decimals, paths or dashes of a longer token.
    private static bool IsNumberBoundary(string text, int start, int end, int rangeStart, int rangeEnd)
    {
        var before = CharBefore(text, start, rangeStart);
        var after = CharAfter(text, end, rangeEnd);
        return !IsWordChar(before) && before is not ('.' or '-' or '/' or '+' or '$' or '#')
            && !IsWordChar(after) && after is not ('-' or '/')
            && !(after == '.' && char.IsAsciiDigit(CharAfter(text, end + 1, rangeEnd)));
    }
}
