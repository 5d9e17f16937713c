/**
 * A small dictionary of given names and family names common in the US, Germany,
 * France, Spain and Latin America. It only has to recognise that a column holds
 * people's names, not to know every name: a sample is a person-name column when
 * a good share of its values contain one of these words.
 */
const givenNames = `
james john robert michael william david richard joseph thomas charles christopher daniel matthew anthony mark donald steven paul
andrew joshua kenneth kevin brian george timothy ronald edward jason jeffrey ryan jacob gary nicholas eric jonathan stephen larry
justin scott brandon benjamin samuel gregory alexander patrick frank raymond jack dennis jerry tyler aaron jose adam nathan henry
mary patricia jennifer linda elizabeth barbara susan jessica sarah karen lisa nancy betty margaret sandra ashley kimberly emily
donna michelle carol amanda dorothy melissa deborah stephanie rebecca sharon laura cynthia kathleen amy angela shirley anna brenda
pamela emma nicole helen samantha katherine christine debra rachel carolyn janet catherine maria heather diane ruth julie olivia
joyce virginia victoria kelly lauren christina joan evelyn judith megan andrea cheryl hannah jacqueline martha gloria teresa
ann sara madison frances kathryn janice jean abigail alice judy sophia  denise  doris marilyn danielle beverly isabella
peter hans klaus juergen jurgen wolfgang uwe dieter horst manfred gerhard werner stefan andreas frank markus sabine ursula monika
petra renate karin ingrid helga gisela birgit claudia susanne heike andrea katrin lukas leon finn jonas elias felix maximilian
paul ben noah emil anton mia lena lea leonie hanna sophie marie lina johanna greta frieda emilia
jean pierre michel philippe alain nicolas christophe francois patrick daniel bernard eric laurent frederic olivier thierry julien
sebastien vincent antoine mathieu guillaume marie nathalie isabelle sylvie catherine francoise martine christine monique valerie
sandrine celine sophie camille chloe manon lea juliette louise ines jeanne amelie elodie aurelie helene
jose antonio manuel francisco juan luis javier carlos jesus alejandro miguel rafael pedro angel pablo fernando jorge alberto sergio
diego ramon enrique andres raul maria carmen josefa isabel dolores pilar teresa ana laura cristina marta lucia elena rosa paula
sofia valentina camila lucia martina daniela gabriela mariana guadalupe fernanda ximena alejandra
mohammed ahmed  fatima aisha omar yusuf wei   hiroshi yuki priya raj amit olga ivan dmitri anna sven lars ingrid
`;

const familyNames = `
smith johnson williams  jones garcia miller davis rodriguez martinez hernandez lopez gonzalez wilson anderson thomas taylor
moore jackson martin lee perez thompson  harris sanchez clark ramirez lewis robinson walker  allen  wright scott
torres nguyen  flores  adams nelson baker hall rivera campbell mitchell carter roberts gomez phillips evans turner diaz
parker cruz edwards collins reyes stewart morris morales murphy  rogers gutierrez ortiz morgan cooper peterson
kelly howard ramos kim cox  richardson watson brooks chavez  james bennett  mendoza ruiz hughes  alvarez castillo
sanders patel myers  ross foster jimenez powell jenkins perry russell sullivan  coleman butler henderson barnes fisher
mueller muller schmidt schneider fischer weber meyer wagner becker schulz hoffmann schaefer koch bauer richter
schroeder neumann  zimmermann  krueger hofmann hartmann  schmitt werner krause meier lehmann schmid schulze
maier koehler herrmann koenig walter mayer huber kaiser fuchs peters  scholz moeller  jung hahn vogel friedrich keller
martin bernard dubois thomas robert richard petit durand leroy moreau simon laurent lefebvre michel david bertrand roux vincent
fournier morel girard andre mercier dupont lambert bonnet francois martinez legrand garnier faure rousseau  guerin muller
henry roussel nicolas perrin morin mathieu clement gauthier dumont lopez fontaine chevalier robin masson sanchez gerard nguyen
garcia gonzalez rodriguez fernandez lopez martinez sanchez perez gomez martin jimenez ruiz hernandez diaz moreno munoz alvarez
romero alonso gutierrez navarro torres dominguez vazquez ramos gil ramirez serrano  molina morales suarez ortega delgado
castro ortiz rubio marin sanz nunez iglesias medina garrido cortes castillo santos lozano guerrero cano prieto mendez cruz
flores herrera pena leon marquez cabrera gallego calvo vidal campos reyes vega fuentes carrasco diez aguilar caballero nieto
rossi russo ferrari esposito bianchi romano colombo ricci marino greco silva santos oliveira souza costa pereira wang zhang liu
chen yang huang zhao wu zhou khan singh kumar sharma ivanov smirnov kowalski nowak novak jensen hansen nielsen andersson johansson
`;

function words(list: string): ReadonlySet<string> {
  return new Set(list.split(/\s+/).filter((w) => w.length > 0));
}

export const personGivenNames: ReadonlySet<string> = words(givenNames);
export const personFamilyNames: ReadonlySet<string> = words(familyNames);
