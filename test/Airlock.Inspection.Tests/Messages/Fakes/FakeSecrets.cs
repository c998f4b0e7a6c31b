namespace Airlock.Inspection.Tests.Messages.Fakes;

/// <summary>Synthesizes format-valid FAKE tokens for the test rule <c>fake-token</c>; never real credentials.</summary>
public static class FakeSecrets
{
    public const string TokenRule = "fake-token";
    public const string Prefix = "fk_live_";
    public const string TokenPattern = "fk_live_[A-Za-z0-9]{24}";
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    public static string Create(Random random)
    {
        var chars = new char[24];
        for (int i = 0; i < chars.Length; i++)
        {
            chars[i] = Alphabet[random.Next(Alphabet.Length)];
        }

        return Prefix + new string(chars);
    }

    public static Airlock.Inspection.Policy.FindingHasher Hasher()
    {
        var key = new byte[32];
        for (int i = 0; i < key.Length; i++)
        {
            key[i] = (byte)(i * 7 + 3);
        }

        return new Airlock.Inspection.Policy.FindingHasher(key);
    }
}
