using System.Security.Cryptography;

namespace Airlock.Inspection.Tests.Secrets;

/// <summary>
/// Identifiable formats must be found for every valid value, not just for hand-picked examples:
/// thousands of random (fake) values in a sentence, each must be reported with its exact span.
/// </summary>
public sealed class RandomizedIdentifiableTokenTests
{
    private static readonly SecretScanner Scanner = new(RulePack.LoadBuiltIn());

    [Theory]
    [InlineData("AKIA", "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, "aws-access-key-id")]
    [InlineData("ASIA", "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16, "aws-access-key-id")]
    [InlineData("sk_live_", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32, "stripe-secret-key")]
    public void Every_random_value_of_the_format_is_found(string prefix, string alphabet, int length, string ruleId)
    {
        var missed = new List<string>();
        for (var i = 0; i < 2000; i++)
        {
            var token = prefix + RandomNumberGenerator.GetString(alphabet, length);
            var text = $"deploy with {token} please \u00e9\n";
            var results = new List<TextMatch>();
            Scanner.Scan(text, results);
            if (!results.Any(m => m.RuleId == ruleId && m.Start == 12 && m.Length == token.Length))
            {
                // Only the random suffix's shape is kept for the failure message, never a token-like value.
                missed.Add(new string(token.Select(c => char.IsDigit(c) ? '9' : char.IsUpper(c) ? 'A' : 'a').ToArray()));
            }
        }
        Assert.True(missed.Count == 0, $"{missed.Count} of 2000 random {ruleId} values missed; shapes: {string.Join(", ", missed.Take(5))}");
    }
}
