namespace Airlock.Protocols.OpenAi;

/// <summary>
/// A Messages request (or an OpenAI answer) that cannot be expressed on the other side. <see cref="Field"/> is the
/// JSON location (<c>messages[3].content[1].type</c>, <c>tools[2]</c>); the message names what is wrong and never
/// quotes content.
/// </summary>
public sealed class OpenAiTranslationException : Exception
{
    public OpenAiTranslationException(string field, string reason)
        : base(field + ": " + reason)
    {
        Field = field;
        Reason = reason;
    }

    public OpenAiTranslationException()
        : this("body", "cannot be translated")
    {
    }

    public OpenAiTranslationException(string message)
        : this("body", message)
    {
    }

    public OpenAiTranslationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Field = "body";
        Reason = message;
    }

    /// <summary>The JSON location of the problem.</summary>
    public string Field { get; } = "body";

    /// <summary>What is wrong, without the location.</summary>
    public string Reason { get; } = "";
}
