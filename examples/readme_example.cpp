#include <ot_transport.hpp>
#include <iostream>

int main() try {
    const auto me = ot::key::generate(2048), bob = ot::key::generate(2048);
    // sign as an OT MESSAGE, seal to Bob, armor
    std::string text = ot::sign("MESSAGE", "<OTmessage>hello</OTmessage>\n", me);
    std::string armor = ot::envelope::seal({bob}, text).to_armor();
    // Bob's side: de-armor, open (with his own NymID), verify
    ot::bytes plain = ot::envelope::from_armor(armor).open(bob);
    ot::bytes content = ot::verify(plain, me.public_key());
    std::cout << "sealed, opened and verified: " << std::string(content.begin(), content.end());
    // without exceptions: every call also exists in ot::nothrow, returning ot::result<T>
    auto wrong = ot::nothrow::envelope_open(ot::envelope::from_armor(armor), me);
    if (!wrong) std::cout << "as someone else: " << wrong.code() << " " << wrong.detail() << "\n";
    return wrong.code() == OT_ERR_NO_MATCHING_RECIPIENT ? 0 : 1;
} catch (const ot::error &e) {
    std::cerr << "error " << e.code() << ": " << e.what() << "\n";
    return 1;
}
