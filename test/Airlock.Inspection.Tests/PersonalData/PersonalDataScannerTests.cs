using Airlock.Inspection.Tests.Secrets;

namespace Airlock.Inspection.Tests.PersonalData;

public class PersonalDataScannerTests
{
    private static readonly PersonalDataScanner Default = new();

    private static List<(string Id, string Value, Confidence Confidence)> Find(string text, PersonalDataScanner? scanner = null)
    {
        var matches = (scanner ?? Default).ScanAll(text);
        return matches.Select(m => (m.RuleId, text.Substring(m.Start, m.Length), m.Confidence)).ToList();
    }

    [Theory]
    [InlineData("write to jane.doe@acme-corp.io today", "jane.doe@acme-corp.io")]
    [InlineData("<a href=\"mailto:o.brien+alerts@mail.contoso.co.uk\">", "o.brien+alerts@mail.contoso.co.uk")]
    public void Email_true_positives(string text, string expected)
    {
        var (id, value, _) = Assert.Single(Find(text));
        Assert.Equal(PersonalDataScanner.EmailRuleId, id);
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("docs use someone@example.com and ops@dev.example.org")]
    [InlineData("Co-Authored-By: Claude <noreply@anthropic.com>")]
    [InlineData("git clone git@github.com:acme/app.git")]
    [InlineData("npm i lodash@4.17.21 @types/node@20.1.0")]
    [InlineData("@app.route('/x') and x@y")]
    public void Email_false_positives(string text) => Assert.Empty(Find(text));

    [Theory]
    [InlineData("call me at +1 (415) 555-0132 tomorrow", "+1 (415) 555-0132", Confidence.High)]
    [InlineData("UK office +44 20 7946 0958", "+44 20 7946 0958", Confidence.High)]
    [InlineData("front desk (415) 555-0132", "(415) 555-0132", Confidence.Medium)]
    [InlineData("Phone: 4155550132", "4155550132", Confidence.High)]
    public void Phone_true_positives(string text, string expected, Confidence confidence)
    {
        var (id, value, actual) = Assert.Single(Find(text));
        Assert.Equal(PersonalDataScanner.PhoneRuleId, id);
        Assert.Equal(expected, value);
        Assert.Equal(confidence, actual);
    }

    // Context words count as whole words only: "tel" inside "hotel", "phone" inside "payphone" and "ssn" inside
    // "lessn" raise nothing, where the same words standing alone raise the confidence by one level.
    [Theory]
    [InlineData("front desk (415) 555-0132", Confidence.Medium)]
    [InlineData("tel (415) 555-0132", Confidence.High)]
    [InlineData("hotel (415) 555-0132", Confidence.Medium)]
    [InlineData("phone (415) 555-0132", Confidence.High)]
    [InlineData("payphone (415) 555-0132", Confidence.Medium)]
    public void Phone_context_words_match_whole_words_only(string text, Confidence confidence)
    {
        var (id, _, actual) = Assert.Single(Find(text));
        Assert.Equal(PersonalDataScanner.PhoneRuleId, id);
        Assert.Equal(confidence, actual);
    }

    [Theory]
    [InlineData("ssn 536-22-8410", Confidence.High)]
    [InlineData("lessn 536-22-8410", Confidence.Medium)]
    [InlineData("employee 536-22-8410", Confidence.Medium)]
    public void Ssn_context_words_match_whole_words_only(string text, Confidence confidence)
    {
        var (_, _, actual) = Assert.Single(Find(text));
        Assert.Equal(confidence, actual);
    }

    [Theory]
    [InlineData("2024-01-15 10:30:45.123 INFO request done")]
    [InlineData("created_at=1700000000 updated=20240115103045")]
    [InlineData("[2024/01/15 10:30:45] GET /api 200")]
    [InlineData("see table 1 2 3 4 5 6 7 8")]
    [InlineData("Released 10.0.401.0 on 12/05/2025")]
    [InlineData("elapsed 415.5550132 s")]
    public void Phone_like_timestamps_and_numbers_do_not_fire(string text) => Assert.Empty(Find(text));

    [Theory]
    [InlineData("card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111", Confidence.High)]
    [InlineData("pay with 5555555555554444", "5555555555554444", Confidence.Medium)]
    [InlineData("amex 3782-822463-10005", "3782-822463-10005", Confidence.High)]
    [InlineData("credit card: 4012888888881881", "4012888888881881", Confidence.High)]
    public void Payment_card_true_positives(string text, string expected, Confidence confidence)
    {
        var (id, value, actual) = Assert.Single(Find(text));
        Assert.Equal(PersonalDataScanner.PaymentCardRuleId, id);
        Assert.Equal(expected, value);
        Assert.Equal(confidence, actual);
    }

    [Theory]
    [InlineData("card 4111 1111 1111 1112")]                              // Luhn fails
    [InlineData("order 1234567890123452")]                                 // Luhn ok, no known IIN
    [InlineData("ratio=0.4111111111111111")]                               // a float
    [InlineData("4111 1111-1111 1111")]                                    // mixed separators
    [InlineData("id 550e8400-e29b-41d4-a716-446655440000")]                // UUID
    [InlineData("commit 3f786850e387550fdab836ed7e6dc881de23001b")]        // git SHA
    public void Payment_card_false_positives(string text) => Assert.Empty(Find(text));

    [Theory]
    [InlineData("IBAN DE89 3704 0044 0532 0130 00 please", "DE89 3704 0044 0532 0130 00")]
    [InlineData("to GB29NWBK60161331926819.", "GB29NWBK60161331926819")]
    [InlineData("pay DE89370400440532013000 IS DUE", "DE89370400440532013000")]
    public void Iban_true_positives(string text, string expected)
    {
        var (id, value, confidence) = Assert.Single(Find(text));
        Assert.Equal(PersonalDataScanner.IbanRuleId, id);
        Assert.Equal(expected, value);
        Assert.Equal(Confidence.High, confidence);
    }

    [Theory]
    [InlineData("DE89 3704 0044 0532 0130 01")]       // bad check digits
    [InlineData("DE89 3704 0044 0532 0130")]          // wrong length for DE
    [InlineData("ZZ89370400440532013000")]             // unknown country
    [InlineData("xDE89370400440532013000")]            // glued to a word
    public void Iban_false_positives(string text) => Assert.Empty(Find(text));

    [Theory]
    [InlineData("SSN: 536-22-8410", Confidence.High)]
    [InlineData("employee 536-22-8410", Confidence.Medium)]
    [InlineData("her ssn is 536228410", Confidence.Medium)]
    public void Ssn_true_positives(string text, Confidence confidence)
    {
        var (id, _, actual) = Assert.Single(Find(text));
        Assert.Equal(PersonalDataScanner.UsSsnRuleId, id);
        Assert.Equal(confidence, actual);
    }

    [Theory]
    [InlineData("000-12-3456")]
    [InlineData("666-12-3456")]
    [InlineData("923-45-6789")]
    [InlineData("536-00-8410")]
    [InlineData("536-22-0000")]
    [InlineData("078-05-1120")]
    [InlineData("123-45-6789")]
    [InlineData("536-22 8410")]
    [InlineData("classname 536228410")]   // "ssn" inside a word is not context: bare 9 digits stay Low
    public void Ssn_invalid_or_low_confidence_are_not_reported(string text) => Assert.Empty(Find(text));

    [Fact]
    public void Minimum_confidence_and_enabled_are_per_entity()
    {
        var lenient = new PersonalDataScanner(new PersonalDataOptions { UsSsn = new() { MinimumConfidence = Confidence.Low } });
        Assert.Single(Find("classname 536228410", lenient));

        var noEmail = new PersonalDataScanner(new PersonalDataOptions { Email = new() { Enabled = false } });
        Assert.Empty(Find("jane.doe@acme-corp.io", noEmail));

        var strictEmail = new PersonalDataScanner(new PersonalDataOptions { Email = new() { MinimumConfidence = Confidence.High } });
        Assert.Empty(Find("jane.doe@acme-corp.io", strictEmail));
        Assert.Single(Find("Email: jane.doe@acme-corp.io", strictEmail));
    }

    [Theory]
    [InlineData("client connected from 81.2.69.160:443", "81.2.69.160")]
    [InlineData("remote 2a00:1450:4001:82a::200e closed", "2a00:1450:4001:82a::200e")]
    public void Ip_true_positives(string text, string expected)
    {
        var (id, value, _) = Assert.Single(Find(text));
        Assert.Equal(PersonalDataScanner.IpAddressRuleId, id);
        Assert.Equal(expected, value);
    }

    [Theory]
    [InlineData("listen on 127.0.0.1 and 10.0.0.12 and 192.168.1.20 and 172.20.1.1")]
    [InlineData("docs use 203.0.113.7 and 2001:db8::1")]
    [InlineData("## [12.4.0.115] - 2024-01-01")]
    [InlineData("Bumped package to 12.4.0.115")]
    [InlineData("AssemblyVersion(\"1.2.3.4\")")]
    [InlineData("oid 1.3.6.1.4.1.311.21.8")]
    [InlineData("std::vector<int> a::b ::1 fe80::1 10:30:45 00:1a:2b:3c:4d:5e")]
    public void Ip_private_documentation_and_look_alikes_do_not_fire(string text) => Assert.Empty(Find(text));

    [Fact]
    public void Private_addresses_are_reported_when_the_option_is_off()
    {
        var scanner = new PersonalDataScanner(new PersonalDataOptions { SkipPrivateIpAddresses = false });
        Assert.Equal(["192.168.1.20"], Find("host 192.168.1.20", scanner).Select(f => f.Value));
    }

    [Fact]
    public void Hashes_integrity_strings_and_uuids_do_not_fire()
    {
        var random = new Random(17);
        var text = new System.Text.StringBuilder();
        for (var i = 0; i < 200; i++)
        {
            var bytes = new byte[64];
            random.NextBytes(bytes);
            text.Append("\"integrity\": \"sha512-").Append(Convert.ToBase64String(bytes)).Append("\",\n");
            text.Append("commit ").Append(Convert.ToHexStringLower(bytes.AsSpan(0, 20))).Append('\n');
            text.Append("id ").Append(new Guid(bytes.AsSpan(0, 16))).Append('\n');
        }

        Assert.Empty(Find(text.ToString()));
    }

    [Fact]
    public void Results_are_ordered_and_offsets_are_exact()
    {
        var text = "Email: a.b@contoso.io, card 4111 1111 1111 1111, IBAN GB29NWBK60161331926819";
        var matches = Default.ScanAll(text);

        Assert.Equal([PersonalDataScanner.EmailRuleId, PersonalDataScanner.PaymentCardRuleId, PersonalDataScanner.IbanRuleId], matches.Ids());
        Assert.Equal(["a.b@contoso.io", "4111 1111 1111 1111", "GB29NWBK60161331926819"], matches.Values(text));
        Assert.All(matches, m => Assert.Equal(FindingCategory.PersonalData, m.Category));
    }
}
